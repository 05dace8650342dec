#!/bin/sh
# Builds the stage1 helper (src/stage1/helper/*.c) into OUTDIR/libexec/capsule-stage1: C11,
# warnings are errors, linked statically (with libseccomp) so that it runs in any container root.
set -eu
out=${1:?usage: build-helper.sh OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out/libexec"
${CC:-gcc} -std=c11 -Wall -Wextra -Werror -O2 -static \
  -o "$out/libexec/capsule-stage1.tmp" "$root"/src/stage1/helper/*.c -lseccomp
mv "$out/libexec/capsule-stage1.tmp" "$out/libexec/capsule-stage1"
