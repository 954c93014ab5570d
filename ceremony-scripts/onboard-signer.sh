#!/usr/bin/env bash
# Onboarding a signer, offline: their public key (or certificate) joins targets/releases and
# targets/NAME of each repository.
# Usage: onboard-signer.sh [--yes] [--airlock P] [--transcript F] NAME PUBKEY PULL RESPONSE GUN...
# Then, online: airlock push RESPONSE --server URL.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
ceremony_options "$@"
set -- "${CEREMONY_ARGS[@]}"
[ $# -ge 5 ] || { usage >&2; exit 2; }
NAME=$1 PUBKEY=$2 PULL=$3 RESPONSE=$4; shift 4
need_files "$PUBKEY" "$PULL"

checklist onboard-signer \
  "Present: the operator, a witness, and $NAME (or whoever vouches for the key)." \
  "1. Compare the pull bundle's digest with the online side; import it." \
  "2. $NAME reads out their key ID; compare it with the one shown." \
  "3. Add $NAME to targets/releases and targets/$NAME of: $*." \
  "4. Export; read the response digest to the online side." \
  "5. Verify the audit log; file the transcript."

step "1. Import the pull bundle"
compare_digest "$PULL"
"$AIRLOCK" import "$PULL"
step "2. Stage $NAME's key"
"$AIRLOCK" signer add "$NAME" "$@" --key "$PUBKEY"
for gun in "$@"; do "$AIRLOCK" delegation list "$gun" >&2; done
confirm "Is $NAME's key ID above the one $NAME read out?"
step "3. Sign and export"
"$AIRLOCK" export "$@" -o "$RESPONSE"
compare_digest "$RESPONSE"
finish
