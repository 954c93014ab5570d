#!/usr/bin/env bash
# A 2-of-3 root held by three custodians, each with their own home, against a real
# notary-server, judged by the real notary client (issue 5):
#   custodians B and C make root keys and give their certificates to A -> A initialises a
#   2-of-3 root and exports it with one signature -> the push is refused -> B signs -> the
#   push is accepted and notary reads it -> A rotates its own root key (old and new roots
#   both 2-of-3) -> C signs -> a client that trusted the old root follows -> the server itself
#   refuses a root with one signature (sent with curl, past airlock's own check).
# What was found is recorded in docs/ceremonies.md.
# Usage: tests/e2e/custodians.sh [path/to/airlock]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AIRLOCK=$(realpath "${1:-$ROOT/target/debug/airlock}")
# shellcheck source=tests/e2e/lib.sh
source "$HERE/lib.sh"

e2e_start custodians
GUN=example.com/team/kofn
test_passphrases
cd "$WORK"
HA=("$AIRLOCK" --home "$WORK/home-a")
HB=("$AIRLOCK" --home "$WORK/home-b")
HC=("$AIRLOCK" --home "$WORK/home-c")
OLD=(notary -s "$NOTARY_URL" -d "$WORK/notary-old")

# everyone: pull and import, so each home checks bundles against the server's state
sync_all() {
  rm -f pull.tar.zst
  "$AIRLOCK" pull "$GUN" --server "$NOTARY_URL" -o pull.tar.zst
  for h in home-a home-b home-c; do
    quiet offline "$AIRLOCK" --home "$WORK/$h" import pull.tar.zst
  done
}

server_root() {
  curl -fsS "$NOTARY_URL/v2/$GUN/_trust/tuf/root.json" |
    python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

step "1. custodians B and C make their root keys; A initialises a 2-of-3 root"
sync_all
offline "${HB[@]}" key generate custodian-b --root "$GUN" --dir "$WORK"
offline "${HC[@]}" key generate custodian-c --root "$GUN" --dir "$WORK"
shows "CN *= *$GUN" openssl x509 -in custodian-b.crt -noout -subject ||
  fail "custodian-b.crt is not a certificate for $GUN"
OPENSSL_B=$(openssl x509 -in custodian-b.crt -noout -enddate)
echo "custodian B's certificate: $OPENSSL_B" >&2
offline "${HA[@]}" init "$GUN" --root-keys 3 --threshold 2 \
  --root-cert custodian-b.crt --root-cert custodian-c.crt
openssl ecparam -genkey -name prime256v1 -noout -out jeff.ec.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in jeff.ec.pem -out jeff.key
openssl ec -in jeff.ec.pem -pubout -out jeff.pub 2>/dev/null
offline "${HA[@]}" signer add jeff "$GUN" --key jeff.pub
offline "${HA[@]}" export "$GUN" -o R1.tar.zst 2>export.txt
cat export.txt >&2
grep -q "root has 1 of 2 root signatures" export.txt || fail "export does not say root is short"

step "2. status shows who signed; the push is refused"
offline "${HB[@]}" status --bundle R1.tar.zst | tee status1.txt
grep -q "1 of 2 root signatures (NOT complete)" status1.txt || fail "status does not count 1 of 2"
[ "$(grep -c '^  missing' status1.txt)" = 2 ] || fail "status does not list two missing keys"
PUSH_ERR=$(mktemp)
rc=0; "$AIRLOCK" push R1.tar.zst --server "$NOTARY_URL" 2>"$PUSH_ERR" || rc=$?
cat "$PUSH_ERR" >&2
[ "$rc" = 1 ] && grep -q "airlock sign" "$PUSH_ERR" || fail "a 1-of-2 root was not refused ($rc)"
curl -fsS -o /dev/null "$NOTARY_URL/v2/$GUN/_trust/tuf/root.json" 2>/dev/null &&
  fail "the refused push reached the server"

step "3. B checks and signs; the push is accepted and notary reads it"
offline "${HB[@]}" sign R1.tar.zst -o R2.tar.zst --yes 2>sign.txt
cat sign.txt >&2
grep -q "a new repository's first root" sign.txt || fail "sign does not show what root is"
grep -q "2 of 2 root signatures (complete)" sign.txt || fail "sign does not say complete"
OFFLINE_HOME=$WORK/home-b
expect_fail 1 "has not signed it already" "${HB[@]}" sign R2.tar.zst -o R3.tar.zst --yes
expect_fail 2 "already exists" "${HB[@]}" sign R1.tar.zst -o R2.tar.zst --yes
"$AIRLOCK" push R2.tar.zst --server "$NOTARY_URL"
[ "$(server_root "d['signed']['roles']['root']['threshold']")" = 2 ] || fail "threshold is not 2"
[ "$(server_root "len(d['signed']['roles']['root']['keyids'])")" = 3 ] || fail "not 3 root keys"
"${OLD[@]}" key import jeff.key --role jeff </dev/null
SHA=$(printf v1 | sha256sum | cut -d' ' -f1)
"${OLD[@]}" addhash "$GUN" v1 2 --sha256 "$SHA" -r targets/releases --publish </dev/null
shows "^v1 " "${OLD[@]}" list "$GUN" || fail "notary cannot read the 2-of-3 root"
sync_all

step "4. A rotates its own root key; C adds the second signature"
offline "${HA[@]}" key rotate "$GUN" root
offline "${HA[@]}" export "$GUN" -o K1.tar.zst
offline "${HC[@]}" status --bundle K1.tar.zst | tee status2.txt
grep -q "1 of 2 root signatures; 1 of 2 previous-root signatures" status2.txt ||
  fail "status does not count both roots"
offline "${HC[@]}" sign K1.tar.zst -o K2.tar.zst --yes 2>sign2.txt
cat sign2.txt >&2
grep -q "root: adds key" sign2.txt && grep -q "root: removes key" sign2.txt ||
  fail "sign does not show the rotation"
"$AIRLOCK" push K2.tar.zst --server "$NOTARY_URL"
[ "$(server_root "d['signed']['version']")" = 2 ] || fail "root is not at version 2"
shows "^v1 " "${OLD[@]}" list "$GUN" || fail "the old client does not follow"
rm -rf "$WORK/notary-fresh"
shows "^v1 " notary -s "$NOTARY_URL" -d "$WORK/notary-fresh" list "$GUN" ||
  fail "a fresh client cannot read root v2"
sync_all

step "5. sign refuses a pull bundle, and a home without a root key of the root"
offline "${HA[@]}" key rotate "$GUN" root
offline "${HA[@]}" export "$GUN" -o X1.tar.zst
OFFLINE_HOME=$WORK/home-c
expect_fail 1 "response bundle\|pull bundle" "${HC[@]}" sign pull.tar.zst -o X9.tar.zst --yes
"$AIRLOCK" --home "$WORK/fresh-c" import pull.tar.zst 2>/dev/null
expect_fail 1 "holds no root key" "$AIRLOCK" --home "$WORK/fresh-c" sign X1.tar.zst -o X2.tar.zst --yes

step "6. notary-server itself refuses a 2-of-3 root with one signature"
mkdir -p x1 && tar -C x1 --zstd -xf X1.tar.zst
ROOT_FILE=$(find x1 -name root.json -path '*metadata/root.json' | head -1)
code=$(curl -s -o server-answer.txt -w '%{http_code}' \
  -F "files=@$ROOT_FILE;filename=root" "$NOTARY_URL/v2/$GUN/_trust/tuf/")
cat server-answer.txt >&2
[ "$code" = 400 ] || fail "notary-server accepted a root short of its threshold ($code)"
[ "$(server_root "d['signed']['version']")" = 2 ] || fail "the server's root changed"

echo "custodians: all steps passed"
