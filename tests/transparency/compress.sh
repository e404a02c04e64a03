#!/bin/sh
# compress.sh - gzip and xz round trips of a 14 MB file (xz with 2 threads),
# checked by sha256sum; the compressed sizes and the test modes too. Run
# it in an empty directory.
set -eu
export LC_ALL=C
seq 1 2000000 > big
sha256sum big
gzip -9 -c big > big.gz
gzip -t big.gz
gzip -dc big.gz | sha256sum
xz -6 -T2 -c big > big.xz
xz -t big.xz
xz -dc big.xz | sha256sum
wc -c < big.gz
wc -c < big.xz
xz -l big.xz | tail -n 1 | awk '{print $1, $2}'
