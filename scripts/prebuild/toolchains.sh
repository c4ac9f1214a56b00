#!/usr/bin/env bash
# Installs what cross-building and emulating the prebuilds needs, only what is missing (Debian/Ubuntu,
# as root when something is): the aarch64 cross compiler with multiarch libsodium-dev:arm64, mingw-w64
# (its posix thread variant: node-addon-api needs std::mutex), qemu-user for arm64 and wine for
# win64, and the tools to build libsodium for mingw from Debian's source package (deb-src enabled).
set -euo pipefail

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
has_deb_src() { grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ || grep -qs '^deb-src' /etc/apt/sources.list; }

need=()
for pkg in g++-aarch64-linux-gnu libsodium-dev:arm64 g++-mingw-w64-x86-64 qemu-user wine wine64 \
           cmake autoconf automake libtool make dpkg-dev binutils; do
  have_pkg "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -eq 0 ] && has_deb_src; then exit 0; fi

dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
if ! has_deb_src; then
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
  else
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >> /etc/apt/sources.list
  fi
fi
echo "prebuild: installing ${need[*]:-nothing (deb-src enabled)}"
# Another apt run on the machine (a CI image's own) is waited for, not failed on.
apt-get -o DPkg::Lock::Timeout=900 update -qq
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
