#!/usr/bin/env bash
# Records the shipped example: a populated repository made with the real notary CLI on a
# real notary-server (signed tags in targets/releases and targets/alice, one tag signed by
# the repository key itself, a server-managed snapshot after `key rotate snapshot -r`),
# pulled into bundles/example-pull.tar.zst. The repository's targets key is kept, encrypted
# exactly as notary wrote it, in bundles/example-targets.key, so the offline ceremony can
# load it (`airlock key load`). Throwaway keys; passphrases below.
# Usage: bundles/record-example.sh [path/to/airlock]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
AIRLOCK=$(realpath "${1:-$ROOT/target/debug/airlock}")
GUN=example.com/acme/web

WORK=$(mktemp -d "${TMPDIR:-/tmp}/airlock-example.XXXXXX")
trap '"$ROOT/tests/harness/notary-server.sh" stop "$WORK/server" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
eval "$("$ROOT/tests/harness/notary-server.sh" start --dir "$WORK/server")"

export NOTARY_ROOT_PASSPHRASE=example-root NOTARY_TARGETS_PASSPHRASE=example-targets
export NOTARY_SNAPSHOT_PASSPHRASE=example-targets NOTARY_DELEGATION_PASSPHRASE=example-alice
N=(notary -s "$NOTARY_URL" -d "$WORK/trust")
cd "$WORK"

"${N[@]}" init "$GUN" --publish </dev/null
"${N[@]}" key rotate "$GUN" snapshot -r </dev/null
"${N[@]}" publish "$GUN" </dev/null
openssl ecparam -genkey -name prime256v1 -noout -out alice.ec.pem 2>/dev/null
openssl ec -in alice.ec.pem -pubout -out alice.pub 2>/dev/null
"${N[@]}" key import alice.ec.pem --role alice </dev/null
"${N[@]}" delegation add "$GUN" targets/releases alice.pub --all-paths --publish </dev/null
"${N[@]}" delegation add "$GUN" targets/alice alice.pub --all-paths --publish </dev/null
for tag in v1.0 v1.1; do
  sha=$(printf 'manifest %s' "$tag" | sha256sum | cut -d' ' -f1)
  "${N[@]}" addhash "$GUN" "$tag" 1234 --sha256 "$sha" -r targets/releases -r targets/alice \
    --publish </dev/null
done
sha=$(printf 'manifest latest' | sha256sum | cut -d' ' -f1)
"${N[@]}" addhash "$GUN" latest 2345 --sha256 "$sha" --publish </dev/null
"${N[@]}" list "$GUN" </dev/null

rm -f "$HERE/example-pull.tar.zst"
"$AIRLOCK" pull "$GUN" --server "$NOTARY_URL" -o "$HERE/example-pull.tar.zst"
targets_key=$(grep -l '^role: targets' trust/private/*.key)
cp "$targets_key" "$HERE/example-targets.key"
echo "recorded $GUN into $HERE/example-pull.tar.zst and example-targets.key" >&2
