#!/bin/sh
# gobuild.sh - build one Go program for meson: gobuild.sh GO OUTPUT SRCDIR
#
# `go build` takes its module from the current directory and Go 1.19 has no
# `go build -C`, while meson runs custom targets from the build root: change
# into the module's folder first, with OUTPUT made absolute. VCS stamping is
# off so that builds work in any checkout (and out of one).
set -e
go=$1 out=$2 src=$3
case $out in
/*) ;;
*) out=$PWD/$out ;;
esac
cd "$src"
exec "$go" build -buildvcs=false -o "$out" .
