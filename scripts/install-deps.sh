#!/usr/bin/env bash
# Install what cgoshim needs to build, run its demo and run its tests, from
# Debian 12's packages. Installs only what is missing; needs root for that.
set -euo pipefail

pkgs=(
	gcc pkg-config meson ninja-build          # build
	libunwind-dev libdw-dev libelf-dev         # stacks, symbols
	zlib1g-dev                                 # gzip of pprof profiles
	libnuma-dev libjemalloc-dev                # NUMA, allocator tests
	check libjansson-dev python3               # tests
	golang-go golang-1.19-src                  # Go examples, Go's cgo suites
	strace valgrind                            # oracles in the tests
	prometheus                                 # promtool, checks the metrics output
	chromium chromium-driver                   # headless browser: renders the HTML report in tests
	clang libclang-rt-14-dev gdb               # libFuzzer targets; stacks of a hung test
	libpython3.11-testsuite sqlite3 git xz-utils  # real programs of the transparency suite
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root (or install them)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
