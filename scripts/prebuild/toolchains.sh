#!/usr/bin/env bash
# Installs what cross-building and emulating the prebuilds needs, only what is missing (Debian/Ubuntu,
# as root): the aarch64 cross compiler with multiarch libsodium-dev:arm64, mingw-w64 (its posix
# thread variant: node-addon-api needs std::mutex), qemu-user for arm64 and wine for win64, and the
# tools to build libsodium for mingw from Debian's source package (deb-src enabled for it).
set -euo pipefail

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

need=()
updated=0
apt_update() { [ $updated = 1 ] || { apt-get -o DPkg::Lock::Timeout=900 update -qq; updated=1; }; }

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
# deb-src, for `apt-get source libsodium` (the mingw build of libsodium).
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
  else
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >> /etc/apt/sources.list
  fi
fi

for pkg in g++-aarch64-linux-gnu libsodium-dev:arm64 libc6:arm64 g++-mingw-w64-x86-64 \
           qemu-user wine wine64 autoconf automake libtool make dpkg-dev binutils file; do
  have_pkg "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "prebuild: installing ${need[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
