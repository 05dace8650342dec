#!/usr/bin/env bash
# The main job on the built-in sample image: build it, make a demo signing key, trust the key
# for the sample's prefix, fetch (verify and store) the image, list the store, run a pod from it.
# Everything lives under out/demo (its own --dir and config dirs); the host's /etc is untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
out=$PWD/out/demo
rm -rf "$out"
mkdir -p "$out"
capsule() { bin/capsule --dir="$out/var" --local-config="$out/etc" --system-config="$out/usr-lib" "$@"; }
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step images/build.sh busybox out/demo/busybox.aci
images/build.sh busybox "$out/busybox.aci"

step "gpg: make a demo signing key (Ed25519) and sign the image"
export GNUPGHOME="$out/gnupg"
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Capsule Demo Signer <demo@example.com>' ed25519 sign 1d
gpg --batch --armor --export demo@example.com > "$out/demo-key.asc"
gpg --batch --armor --detach-sign "$out/busybox.aci"
gpgconf --kill all 2>/dev/null || true

step capsule trust --prefix example.com/capsule --skip-fingerprint-review out/demo/demo-key.asc
capsule trust --prefix example.com/capsule --skip-fingerprint-review "$out/demo-key.asc"

step capsule trust list
capsule trust list

step capsule fetch out/demo/busybox.aci
capsule fetch "$out/busybox.aci"

step capsule image list
capsule image list

step capsule image cat-manifest example.com/capsule/busybox:1.35.0
capsule image cat-manifest example.com/capsule/busybox:1.35.0

step capsule run --net=none example.com/capsule/busybox:1.35.0 --exec=/bin/sh -- -c 'echo hello from pod \$(hostname); id'
export CAPSULE_RUNTIME_DIR="$out/run"
capsule run --net=none example.com/capsule/busybox:1.35.0 --exec=/bin/sh -- -c 'echo hello from pod $(hostname); id'

step capsule list
capsule list

step capsule gc --grace-period=0s
capsule gc --grace-period=0s
