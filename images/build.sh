#!/usr/bin/env bash
# Builds a sample image from its recipe: images/build.sh busybox|probe|ace-main|ace-sidekick OUT.aci
# The rootfs is Debian's static busybox (package busybox-static) plus the recipe's files;
# the image is made with `capsule image build`, so the same inputs give the same image ID.
set -euo pipefail
name=${1:?usage: images/build.sh busybox|probe|ace-main|ace-sidekick OUT.aci}
out=${2:?usage: images/build.sh busybox|probe|ace-main|ace-sidekick OUT.aci}
here=$(cd "$(dirname "$0")" && pwd)
capsule=${CAPSULE:-$here/../bin/capsule}
recipe=$here/$name
[ -f "$recipe/manifest.in" ] || { echo "images/build.sh: no recipe named $name" >&2; exit 254; }
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "images/build.sh: $busybox not found (apt-get install busybox-static)" >&2; exit 254; }

case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=aarch64 ;; i?86) arch=i386 ;; *) arch=$(uname -m) ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root,var/tmp,run}
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
install -m 0755 "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
cat > "$root/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
capsule-user:x:1000:1000:Capsule test user:/tmp:/bin/sh
PW
cat > "$root/etc/group" <<'GR'
root:x:0:
daemon:x:1:
users:x:100:capsule-user
capsule-user:x:1000:
nogroup:x:65534:
GR
[ -f "$recipe/probe" ] && install -m 0755 "$recipe/probe" "$root/probe"
[ -f "$recipe/ace-validator" ] && install -m 0755 "$recipe/ace-validator" "$root/ace-validator" && mkdir -p "$root/opt/acvalidator"
sed -e "s/@OS@/linux/" -e "s/@ARCH@/$arch/" "$recipe/manifest.in" > "$work/manifest"
chown -R 0:0 "$root" 2>/dev/null || true
# Fixed timestamps: the same recipe and busybox give the same image ID on every machine.
find "$work" -exec touch -h -d @1767225600 {} +
SOURCE_DATE_EPOCH=1767225600 "$capsule" image build --overwrite "$work" "$out"
