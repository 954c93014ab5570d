#!/usr/bin/env bash
# Offboarding a signer, offline: their keys leave targets/releases and targets/NAME goes;
# targets/releases is then re-signed (witnessed) by a key this home holds, so what the
# departed signer signed stays valid.
# Usage: offboard-signer.sh [--yes] [--airlock P] [--transcript F] NAME PULL RESPONSE GUN...
# Then, online: airlock push RESPONSE --server URL.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
ceremony_options "$@"
set -- "${CEREMONY_ARGS[@]}"
[ $# -ge 4 ] || { usage >&2; exit 2; }
NAME=$1 PULL=$2 RESPONSE=$3; shift 3
need_files "$PULL"

checklist offboard-signer \
  "Present: the operator and a witness." \
  "1. Compare the pull bundle's digest with the online side; import it." \
  "2. Remove $NAME from: $*." \
  "3. Witness targets/releases with a key that stays." \
  "4. Export; read the response digest to the online side." \
  "5. Verify the audit log; file the transcript."

step "1. Import the pull bundle"
compare_digest "$PULL"
"$AIRLOCK" import "$PULL"
step "2. Remove $NAME"
"$AIRLOCK" signer remove "$NAME" "$@" --yes
step "3. Re-sign targets/releases"
for gun in "$@"; do "$AIRLOCK" witness "$gun" targets/releases; done
step "4. Sign and export"
"$AIRLOCK" export "$@" -o "$RESPONSE"
compare_digest "$RESPONSE"
finish
