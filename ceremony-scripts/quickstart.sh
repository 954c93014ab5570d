#!/usr/bin/env bash
# The offline ceremony on the shipped example, in a throwaway home:
#   bundle inspect -> import (verify) -> key load (the repository's targets key, as notary
#   wrote it) -> key generate (a new signer) -> signer add -> delegation list -> status ->
#   export -> bundle inspect of the signed response.
# Nothing here touches the network. Usage: ceremony-scripts/quickstart.sh [path/to/airlock]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
AIRLOCK=${1:-}
if [ -z "$AIRLOCK" ]; then
  echo "Building the offline signer (the first build takes a few minutes)..." >&2
  # A target directory of its own, so the offline build does not replace the full one.
  OFFLINE_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/offline
  (cd "$ROOT" && CARGO_TARGET_DIR=$OFFLINE_TARGET cargo build --no-default-features)
  AIRLOCK=$OFFLINE_TARGET/debug/airlock
fi
AIRLOCK=$(realpath "$AIRLOCK")
BUNDLE=$ROOT/bundles/example-pull.tar.zst
GUN=example.com/acme/web

WORK=$(mktemp -d "${TMPDIR:-/tmp}/airlock-quickstart.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export AIRLOCK_HOME=$WORK/home
# Demo passphrases for the throwaway home; a real ceremony types them at the prompt.
export AIRLOCK_ROOT_PASSPHRASE=demo-root AIRLOCK_TARGETS_PASSPHRASE=demo-targets
export AIRLOCK_DELEGATION_PASSPHRASE=demo-delegation
# The example targets key file is encrypted with this (see bundles/record-example.sh).
export AIRLOCK_IMPORT_PASSPHRASE=example-targets

say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

say "1. Check the bundle you carried across: compare its digest with the online side's"
"$AIRLOCK" bundle inspect "$BUNDLE"

say "2. Import: verify every signature, hash, version and expiry, then trust it"
if ! "$AIRLOCK" import "$BUNDLE" 2>"$WORK/import.err"; then
  cat "$WORK/import.err" >&2
  grep -q "expired" "$WORK/import.err" || exit 1
  created=$("$AIRLOCK" bundle inspect "$BUNDLE" | awk '/^created:/ {print $2}')
  say "   The example was pulled at $created, and a Notary timestamp lasts 14 days." \
    "A real ceremony pulls fresh metadata; the demo goes on with --allow-expired."
  "$AIRLOCK" import --allow-expired "$BUNDLE"
else
  cat "$WORK/import.err" >&2
fi

say "3. Load the repository's targets key, as notary stored it"
"$AIRLOCK" key load "$ROOT/bundles/example-targets.key"

say "4. Generate a key for a new signer, dana"
"$AIRLOCK" key generate dana --dir "$WORK"
"$AIRLOCK" key list

say "5. Add dana to targets/releases and targets/dana"
"$AIRLOCK" signer add dana "$GUN" --key "$WORK/dana.pub"
"$AIRLOCK" delegation list "$GUN"
"$AIRLOCK" status

say "6. Sign and export the response bundle"
"$AIRLOCK" export "$GUN" -o "$WORK/response.tar.zst"
"$AIRLOCK" bundle inspect "$WORK/response.tar.zst"

say "Done. In a real ceremony the response bundle crosses back and the online side runs" \
  "\`airlock push response.tar.zst --server URL\`. This demo's home and bundles are removed now."
