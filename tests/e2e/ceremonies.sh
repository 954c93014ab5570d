#!/usr/bin/env bash
# The scripted ceremonies in ceremony-scripts/, run unattended (--yes) against a real
# notary-server and judged by the real notary client; each one's audit log verifies and its
# transcript names what it did (issue 6):
#   new repository (with a signer) -> onboard jeff -> jeff signs with notary -> offboard jeff
#   (remove and witness: what jeff signed stays valid) -> rotate the targets key -> renew.
# Usage: tests/e2e/ceremonies.sh [path/to/airlock]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AIRLOCK=$(realpath "${1:-$ROOT/target/debug/airlock}")
# shellcheck source=tests/e2e/lib.sh
source "$HERE/lib.sh"

e2e_start ceremonies
GUN=example.com/team/ceremonies
export AIRLOCK_HOME=$WORK/offline-home OFFLINE_HOME=$WORK/offline-home
test_passphrases
export AIRLOCK_OPERATOR=ceremony-test
cd "$WORK"
S=$ROOT/ceremony-scripts
C=(--yes --airlock "$AIRLOCK")
N=(notary -s "$NOTARY_URL" -d "$WORK/notary")
fresh() { rm -rf "$WORK/nf"; notary -s "$NOTARY_URL" -d "$WORK/nf" "$@"; }

n=0
pull() { n=$((n + 1)); PULL=$WORK/pull-$n.tar.zst; RESPONSE=$WORK/response-$n.tar.zst
  "$AIRLOCK" --home "$WORK/online-home" pull "$GUN" --server "$NOTARY_URL" -o "$PULL"; }
push() { "$AIRLOCK" --home "$WORK/online-home" push "$RESPONSE" --server "$NOTARY_URL"; }
# transcript_has NAME WORD...: the transcript of the last ceremony mentions each word
transcript_has() {
  local t=$WORK/$1.md; shift
  for w in "$@"; do grep -q -- "$w" "$t" || { cat "$t" >&2; fail "$t lacks $w"; }; done
}

step "1. new repository, with ben (a key of this home) as its first signer"
"$AIRLOCK" key generate ben --dir "$WORK" >/dev/null
pull
"$S/new-repository.sh" "${C[@]}" --transcript "$WORK/new.md" "$GUN" "$PULL" "$RESPONSE" \
  --signer "ben=$WORK/ben.pub"
push
shows "^targets/ben " fresh delegation list "$GUN" || fail "targets/ben missing"
transcript_has new "import" "init" "signer add" "export" "$GUN" "ceremony-test"

step "2. onboard jeff; jeff signs v1 with notary"
openssl ecparam -genkey -name prime256v1 -noout -out jeff.ec.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in jeff.ec.pem -out jeff.key
openssl ec -in jeff.ec.pem -pubout -out jeff.pub 2>/dev/null
pull
"$S/onboard-signer.sh" "${C[@]}" --transcript "$WORK/onboard.md" jeff jeff.pub "$PULL" \
  "$RESPONSE" "$GUN"
push
"${N[@]}" key import jeff.key --role jeff </dev/null
SHA=$(printf v1 | sha256sum | cut -d' ' -f1)
"${N[@]}" addhash "$GUN" v1 2 --sha256 "$SHA" -r targets/releases --publish </dev/null
shows "^v1 " fresh list "$GUN" || fail "v1 not listed"
transcript_has onboard "signer add" "jeff"

step "3. offboard jeff: removed, releases witnessed by ben's key, v1 still valid"
pull
"$S/offboard-signer.sh" "${C[@]}" --transcript "$WORK/offboard.md" jeff "$PULL" "$RESPONSE" "$GUN"
push
lacks "^targets/jeff " fresh delegation list "$GUN" || fail "targets/jeff still there"
shows "^v1 " fresh list "$GUN" || fail "v1 lost its signature when jeff left"
transcript_has offboard "signer remove" "witness"

step "4. rotate the targets key"
pull
"$S/rotate-targets-key.sh" "${C[@]}" --transcript "$WORK/rotate.md" "$GUN" "$PULL" "$RESPONSE"
push
shows "^v1 " fresh list "$GUN" || fail "unreadable after the targets key rotation"
transcript_has rotate "key rotate"

step "5. renew everything due within 4000 days (the root certificate too)"
pull
"$S/renew.sh" "${C[@]}" --transcript "$WORK/renew.md" "$PULL" "$RESPONSE" --within 4000 "$GUN"
push
shows "^v1 " fresh list "$GUN" || fail "unreadable after the renewal"
transcript_has renew "renew" "root"

step "6. the audit logs: offline and online homes verify; the response carries the record"
"$AIRLOCK" audit verify
"$AIRLOCK" --home "$WORK/online-home" audit verify
"$AIRLOCK" audit verify "$RESPONSE"
shows '"command":"push"' cat "$WORK/online-home/audit/log.jsonl" || fail "push not recorded"
shows 'accepted' cat "$WORK/online-home/audit/log.jsonl" || fail "the server's answer not recorded"
expect_fail 2 "give --airlock\|Usage\|usage" "$S/renew.sh" --yes --airlock /nonexistent "$PULL" x "$GUN"
expect_fail 2 "already exists" "$S/renew.sh" "${C[@]}" --transcript "$WORK/renew.md" "$PULL" x "$GUN"
expect_fail 2 "no such file" "$S/onboard-signer.sh" "${C[@]}" eve missing.pub "$PULL" x "$GUN"
expect_fail 2 "needs a value" "$S/renew.sh" --yes --airlock

echo "ceremonies: all steps passed"
