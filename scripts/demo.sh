#!/usr/bin/env bash
# The demo: install what is missing, build, run an example Go program under
# the shim and print its report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
builddir=${CGOSHIM_BUILDDIR:-build}
[ -f "$builddir/build.ninja" ] || meson setup "$builddir" >/dev/null
ninja -C "$builddir" >/dev/null
prog="$builddir/examples/randread"
if [ ! -x "$prog" ]; then
	echo "demo: $prog was not built (is Go installed?)" >&2
	exit 1
fi
echo "== $prog under cgoshim: a cgo bridge whose C side sometimes blocks on read()" >&2
exec "$builddir/shim/cgoshim" -- "$prog" "$@"
