#!/usr/bin/env bash
# A new repository's root ceremony, offline: verify the pull bundle of the new GUN, create
# the root (k-of-n with custodians' certificates), add the first signers, export.
# Usage: new-repository.sh [--yes] [--airlock P] [--transcript F] GUN PULL RESPONSE
#          [--threshold K] [--root-cert FILE]... [--signer NAME=PUBKEY]...
# Then, online: airlock push RESPONSE --server URL. With K > 1, the other custodians first
# add their signatures: airlock sign RESPONSE -o RESPONSE2.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
ceremony_options "$@"
set -- "${CEREMONY_ARGS[@]}"
[ $# -ge 3 ] || { usage >&2; exit 2; }
GUN=$1 PULL=$2 RESPONSE=$3; shift 3
INIT=() SIGNERS=()
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { usage >&2; exit 2; }
  case $1 in
    --threshold) INIT+=("$1" "$2") ;;
    --root-cert) INIT+=("$1" "$2"); need_files "$2" ;;
    --signer) SIGNERS+=("$2"); need_files "${2#*=}" ;;
    *) usage >&2; exit 2 ;;
  esac
  shift 2
done
need_files "$PULL"
trap 'echo "The ceremony stopped before its end. To start it again from the beginning, drop \
what was staged with: airlock forget $GUN --yes" >&2' ERR

checklist new-repository \
  "Present: the ceremony operator, a witness, the root key custodians." \
  "1. Compare the pull bundle's digest with the online side." \
  "2. Import (verify) it: $GUN must be new on the server." \
  "3. Create the root key and certificate (and list the custodians' certificates)." \
  "4. Add the first signers: ${SIGNERS[*]:-none}." \
  "5. Export the response; read its digest to the online side." \
  "6. Verify the audit log; file the transcript."

step "1. The pull bundle carried across"
compare_digest "$PULL"
step "2. Import and verify"
"$AIRLOCK" import "$PULL"
step "3. The root"
"$AIRLOCK" init "$GUN" "${INIT[@]}"
step "4. The first signers"
for s in "${SIGNERS[@]}"; do
  "$AIRLOCK" signer add "${s%%=*}" "$GUN" --key "${s#*=}"
done
"$AIRLOCK" delegation list "$GUN" >&2
step "5. Sign and export"
"$AIRLOCK" export "$GUN" -o "$RESPONSE"
compare_digest "$RESPONSE"
finish
