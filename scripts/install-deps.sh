#!/usr/bin/env bash
# Install what cgoshim needs to build, run its demo and run its tests, from
# Debian 12's packages. Installs only what is missing; needs root for that.
set -euo pipefail

pkgs=(
	gcc g++ pkg-config meson ninja-build      # build (g++: the C++ plugin of the scope tests)
	make patch binutils                        # the built-in libunwind (scripts/build-libunwind.sh)
	libdw-dev libelf-dev                       # symbols (the watcher)
	zlib1g-dev                                 # gzip of pprof profiles
	libnuma-dev libjemalloc-dev                # NUMA, allocator tests
	check libjansson-dev python3               # tests
	golang-go golang-1.19-src                  # Go examples, Go's cgo suites
	golang-1.23                                # Go tests on 1.23 (bookworm-backports)
	strace valgrind                            # oracles in the tests
	prometheus                                 # promtool, checks the metrics output
	chromium chromium-driver                   # headless browser: renders the HTML report in tests
	clang libclang-rt-14-dev gdb               # libFuzzer targets; stacks of a hung test
	libpython3.11-testsuite sqlite3 git xz-utils  # real programs of the transparency suite
)

# FULL=1 scripts/install-deps.sh also installs golang-1.21 and golang-1.22
# (bookworm-backports, about 60 MB each) and a real cgo library with its
# tests (golang-github-datadog-zstd-dev, libzstd-dev) for
# `meson test --setup full`, which runs the Go tests on them too (they skip
# when not installed).
if [ "${FULL:-0}" = 1 ]; then
	pkgs+=(golang-1.21 golang-1.22 golang-github-datadog-zstd-dev libzstd-dev)
fi

root=$(cd "$(dirname "$0")/.." && pwd)

# Debian sources this project needs besides the machine's: deb-src (the
# libunwind source that scripts/build-libunwind.sh builds) and
# bookworm-backports (golang-1.21, -1.22, -1.23). Plain Debian suites.
sources_changed=0
add_source() { # FILE TYPES SUITES
	local f=/etc/apt/sources.list.d/$1
	[ -f "$f" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: need the apt source $f ($2 $3); run as root" >&2
		exit 1
	fi
	printf 'Types: %s\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$2" "$3" > "$f"
	sources_changed=1
}
add_source cgoshim-src.sources deb-src bookworm
add_source cgoshim-backports.sources deb bookworm-backports

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages: ${missing[*]}; run as root (or install them)" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}" >&2
	apt-get update -qq
	sources_changed=0
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -f "$root/.deps/libunwind/lib/libunwind.a" ] && [ "$sources_changed" = 1 ]; then
	apt-get update -qq
fi
"$root/scripts/build-libunwind.sh"
