#!/usr/bin/env bash
# npm run package [-- OUTDIR]: builds capsule_<version>_<arch>.deb with dpkg-deb (default OUTDIR:
# the repo's dist/). Layout: /usr/bin/capsule -> ../lib/capsule/bin/capsule (the wrapper finds
# boot.cjs beside itself through the link), the CLI bundle and the stage1 helper under
# /usr/lib/capsule (dist/cli, dist/libexec/capsule-stage1), the runtime node_modules there too
# (better-sqlite3 is native), man pages made by `capsule man-pages`, bash and zsh completion made
# by `capsule completion`, and the sample systemd units cut out of docs/systemd.md and
# docs/metadata-service.md (so the docs and the package cannot differ): the gc timer and the
# metadata service in /usr/lib/systemd/system (not enabled), the web pod in doc/examples.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist}
cd "$root"
# CAPSULE_PACKAGE_NO_BUILD=1: dist/ is fresh already (the tests: rebuilding it under running tests would race).
[ "${CAPSULE_PACKAGE_NO_BUILD:-}" = 1 ] || npm run --silent build >/dev/null
version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
stage=$(mktemp -d "${TMPDIR:-/tmp}/capsule-deb-XXXXXX")
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT
lib=$stage/usr/lib/capsule
install -d "$lib/bin" "$lib/dist/cli" "$lib/dist/libexec" "$lib/node_modules" "$stage/usr/bin" \
  "$stage/usr/share/man/man1" "$stage/usr/share/bash-completion/completions" "$stage/usr/share/zsh/vendor-completions" \
  "$stage/usr/lib/systemd/system" "$stage/usr/share/doc/capsule/examples" "$stage/DEBIAN"
install -m 0755 bin/capsule "$lib/bin/capsule"
install -m 0644 bin/boot.cjs "$lib/bin/boot.cjs"
install -m 0644 dist/cli/main.cjs "$lib/dist/cli/main.cjs"
install -m 0755 dist/libexec/capsule-stage1 "$lib/dist/libexec/capsule-stage1"
install -m 0644 package.json "$lib/package.json"
# The production dependency tree only (npm's own view of it), copied as installed.
npm ls --omit=dev --parseable --all 2>/dev/null | tail -n +2 | while read -r dir; do
  rel=${dir#"$root"/node_modules/}
  mkdir -p "$lib/node_modules/$(dirname "$rel")"
  cp -a "$dir" "$lib/node_modules/$rel"
done
ln -s ../lib/capsule/bin/capsule "$stage/usr/bin/capsule"
cap() { CAPSULE_BOOT_DIST="$root/dist/cli" node "$root/bin/boot.cjs" "$@"; }
mandir=$(mktemp -d "$stage/man-XXXXXX")
cap man-pages "$mandir"
for f in "$mandir"/*.1; do gzip -9n <"$f" >"$stage/usr/share/man/man1/${f##*/}.gz"; done
rm -rf "$mandir"
cap completion bash >"$stage/usr/share/bash-completion/completions/capsule"
cap completion zsh >"$stage/usr/share/zsh/vendor-completions/_capsule"
# Each ```ini block line "# /etc/systemd/system/NAME" starts the file NAME.
node -e '
  const fs = require("fs"), path = require("path");
  const [units, examples, ...docs] = process.argv.slice(1);
  for (const doc of docs) {
    const md = fs.readFileSync(doc, "utf8");
    for (const block of md.matchAll(/```ini\n([\s\S]*?)```/g)) {
      let name = null, lines = [];
      const flush = () => {
        if (!name) return;
        const dir = name.startsWith("capsule-") ? units : examples;
        fs.writeFileSync(path.join(dir, name), lines.join("\n").trim() + "\n");
      };
      for (const l of block[1].split("\n")) {
        const m = /^# \/etc\/systemd\/system\/(\S+)$/.exec(l);
        if (m) { flush(); name = m[1]; lines = []; } else lines.push(l);
      }
      flush();
    }
  }' "$stage/usr/lib/systemd/system" "$stage/usr/share/doc/capsule/examples" docs/systemd.md docs/metadata-service.md
chmod 0644 "$stage"/usr/lib/systemd/system/* "$stage"/usr/share/doc/capsule/examples/*
cat >"$stage/DEBIAN/control" <<CONTROL
Package: capsule
Version: $version
Architecture: $arch
Maintainer: Capsule developers <capsule@localhost>
Depends: nodejs (>= 20), systemd-container, util-linux
Recommends: containernetworking-plugins, iptables, gnupg
Section: admin
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$stage/usr" | cut -f1)
Description: daemonless, rkt-compatible, secure pod container runtime
 Capsule runs appc and OCI images in pods isolated by systemd-nspawn, with
 rkt's command line, flags, exit codes and on-disk layout.
CONTROL
mkdir -p "$out"
deb=$out/capsule_${version}_${arch}.deb
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$deb"
