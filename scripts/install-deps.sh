#!/usr/bin/env bash
# Installs what Capsule, its demo and its tests need on Debian 12 with Node 20:
# Debian packages with apt-get, npm packages with `npm ci` (from package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(busybox-static gnupg systemd-container util-linux xz-utils bzip2 zstd procps iproute2 gcc libc6-dev libseccomp-dev
  docker-registry skopeo umoci mmdebstrap apache2-utils containernetworking-plugins iptables python3 zsh)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 254
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
