#!/bin/sh
# sort.sh - sort a 600000-line file several ways (numeric with 2 threads
# and a small buffer, so it merges through temporary files; unique; by a
# key), checked by sha256sum. The input is shuffled with a fixed random
# source, so it is the same on every run. Run it in an empty directory.
set -eu
export LC_ALL=C TMPDIR="$PWD"
seq 1 600000 | awk '{ printf "%d key%d %s\n", $1, $1 % 1000, ($1 * 7919) % 100003 }' > lines
yes 0123456789 | head -c 10000000 > random
shuf --random-source=random lines > in
sha256sum in
sort -n --parallel=2 -S 2M in | sha256sum
sort -u -k2,2 in | wc -l
sort -t ' ' -k3,3n -k1,1nr in | head -n 3
sort -R --random-source=random in | sort -n | cmp - lines && echo round trip ok
