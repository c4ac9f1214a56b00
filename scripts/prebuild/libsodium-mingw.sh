#!/usr/bin/env bash
# Builds a static libsodium for x86_64-w64-mingw32 from Debian's source package (the same release as
# the libsodium.a the Linux prebuilds link) into $1 (the cache: $1/include, $1/lib/libsodium.a).
# Slow, so it runs only when $1/lib/libsodium.a is missing; CI builds it once per run.
# --enable-minimal: narsign calls only crypto_sign_*, randombytes_* and sodium_* utilities, all in
# the minimal build, which compiles in about half the time; a call outside it fails to link.
# --disable-ssp: mingw's stack protector needs libssp at link time (a DLL by default); the addon is
# linked fully static, so libsodium is built without it.
set -euo pipefail
prefix=$(realpath -m "$1")
if [ -f "$prefix/lib/libsodium.a" ]; then exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source --download-only -qq libsodium >/dev/null
dpkg-source -x --skip-patches libsodium_*.dsc src >/dev/null
cd src
# Debian's source is the upstream tarball; autoreconf regenerates the build system with this
# machine's autotools (its libtool knows the mingw host).
autoreconf -fi >/dev/null 2>&1
./configure -q --host=x86_64-w64-mingw32 --prefix="$prefix.tmp" --disable-shared --enable-static \
  --enable-minimal --disable-ssp --disable-dependency-tracking >/dev/null
make -s -j"$(nproc)" >/dev/null 2>&1 || make -s   # on failure, rerun serially so the error is readable
make -s install >/dev/null
rm -rf "$prefix"
mv "$prefix.tmp" "$prefix"
echo "prebuild: libsodium for mingw in $prefix"
