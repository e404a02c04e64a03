#!/usr/bin/env bash
# Install what is missing, build, and run every test (meson test).
# Usage: scripts/test.sh [extra meson test arguments, e.g. --suite io]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
builddir=${CGOSHIM_BUILDDIR:-build}
if [ ! -f "$builddir/build.ninja" ]; then
	meson setup "$builddir" >/dev/null
fi
ninja -C "$builddir"
meson test -C "$builddir" --print-errorlogs --num-processes 2 "$@"
