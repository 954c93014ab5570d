#!/usr/bin/env bash
# Rotating a repository's targets key, offline: a new targets key, root re-signed.
# Usage: rotate-targets-key.sh [--yes] [--airlock P] [--transcript F] GUN PULL RESPONSE
# Then, online: airlock push RESPONSE --server URL. Afterwards remove the old targets key
# from the key store (`airlock key list`, `airlock key remove`).
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
ceremony_options "$@"
set -- "${CEREMONY_ARGS[@]}"
[ $# -eq 3 ] || { usage >&2; exit 2; }
GUN=$1 PULL=$2 RESPONSE=$3
need_files "$PULL"

checklist rotate-targets-key \
  "Present: the operator, a witness, a root key custodian (root is re-signed)." \
  "1. Compare the pull bundle's digest with the online side; import it." \
  "2. Make the new targets key; root lists it instead of the old one." \
  "3. Export (root and targets re-signed); read the response digest to the online side." \
  "4. Verify the audit log; file the transcript."

step "1. Import the pull bundle"
compare_digest "$PULL"
"$AIRLOCK" import "$PULL"
step "2. Rotate the targets key"
"$AIRLOCK" key rotate "$GUN" targets
step "3. Sign and export"
"$AIRLOCK" export "$GUN" -o "$RESPONSE"
compare_digest "$RESPONSE"
finish
