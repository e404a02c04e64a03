#!/usr/bin/env bash
# Build the libunwind that libcgoshim.so links in: Debian 12's own libunwind
# source (apt-get source), compiled as a static, position-independent
# archive with hidden symbols and initial-exec TLS, and without its C++
# exception ABI (_Unwind_*), minidebuginfo (liblzma) or zlib.
#
# Why not Debian's libunwind.a: it is built without -fPIC, so it cannot go
# into a shared library. Why not libunwind.so.8: as a DT_NEEDED of the
# preload library it lands in every traced program's global scope, where its
# unversioned _Unwind_* symbols take over C++ unwinding from libgcc_s (a
# pthread_exit through C++ frames then crashes). See README, "How it works".
#
# Usage: scripts/build-libunwind.sh [DESTDIR]   (default: .deps/libunwind)
# Idempotent: does nothing when DESTDIR/lib/libunwind.a exists.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/.deps/libunwind}
if [ -f "$dest/lib/libunwind.a" ] && [ -f "$dest/include/libunwind.h" ]; then
	exit 0
fi
version=1.6.2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# Debian's source package: needs a deb-src line (scripts/install-deps.sh adds one).
if ! apt-get source -qq --download-only "libunwind=$version-3" >/dev/null 2>&1 &&
   ! apt-get source -qq --download-only libunwind >/dev/null 2>&1; then
	echo "build-libunwind: 'apt-get source libunwind' failed (is a deb-src source configured? run scripts/install-deps.sh as root)" >&2
	exit 1
fi
orig=$(ls libunwind_*.orig.tar.* | head -1)
tar xf "$orig"
src=$(ls -d libunwind-*/ | head -1)
cd "$src"
# Debian's patches for this release (page size read at run time, tests).
deb=$(ls ../libunwind_*.debian.tar.* 2>/dev/null | head -1 || true)
if [ -n "$deb" ]; then
	tar xf "$deb"
	if [ -f debian/patches/series ]; then
		while read -r p; do
			case "$p" in ''|'#'*) continue ;; esac
			patch -p1 -s -N < "debian/patches/$p" >/dev/null || true
		done < debian/patches/series
	fi
fi
CFLAGS="-O2 -g -fPIC -fvisibility=hidden -ftls-model=initial-exec" \
	./configure --quiet --prefix="$dest" --disable-shared --enable-static --with-pic \
	--disable-coredump --disable-ptrace --disable-setjmp --disable-minidebuginfo \
	--disable-zlibdebuginfo --disable-documentation --disable-tests --disable-cxx-exceptions \
	--disable-debug-frame >/dev/null 2>&1
make -s -j"$(nproc)" -C src libunwind.la >/dev/null
mkdir -p "$dest/lib" "$dest/include"
cp src/.libs/libunwind.a "$dest/lib/libunwind.a.tmp"
cp include/libunwind.h include/libunwind-common.h include/libunwind-x86_64.h \
	include/libunwind-dynamic.h "$dest/include/" 2>/dev/null || true

mv "$dest/lib/libunwind.a.tmp" "$dest/lib/libunwind.a"
echo "build-libunwind: built $dest/lib/libunwind.a (libunwind $version, PIC, hidden)" >&2
