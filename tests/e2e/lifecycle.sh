#!/usr/bin/env bash
# Key lifecycle against a real notary-server, judged by the real notary client (issue 5):
# targets, root and snapshot key rotations (to the home and back to the server), root
# certificate renewal, signer rotation, renewal before expiry and recovery after it, with
# the clock moved by faketime.
# Usage: tests/e2e/lifecycle.sh [path/to/airlock]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AIRLOCK=$(realpath "${1:-$ROOT/target/debug/airlock}")
# shellcheck source=tests/e2e/lib.sh
source "$HERE/lib.sh"

command -v faketime >/dev/null ||
  fail "faketime is missing: apt-get install -y faketime (tests/run.sh installs it)"
e2e_start lifecycle
GUN=example.com/team/lifecycle
OFFLINE_HOME=$WORK/offline-home
test_passphrases
cd "$WORK"
A=("$AIRLOCK" --home "$OFFLINE_HOME")
# A notary client that trusts the repository from its first version on: it must follow
# every rotation. A fresh one is made for each check, too.
OLD=(notary -s "$NOTARY_URL" -d "$WORK/notary-old")
fresh() { rm -rf "$WORK/notary-fresh"; notary -s "$NOTARY_URL" -d "$WORK/notary-fresh" "$@"; }

# sync: pull and import, so the home knows what the server has now.
sync() {
  rm -f pull.tar.zst
  "$AIRLOCK" pull "$GUN" --server "$NOTARY_URL" -o pull.tar.zst "$@"
  offline "${A[@]}" import pull.tar.zst
}

# publish NAME [export options]: export the staged changes, push them, sync again.
publish() {
  local name=$1; shift
  offline "${A[@]}" export "$GUN" -o "$name.tar.zst" "$@"
  "$AIRLOCK" push "$name.tar.zst" --server "$NOTARY_URL"
  sync
}

# server_json ROLE EXPR: evaluates a python expression over the server's ROLE.json (as `d`).
server_json() {
  curl -fsS "$NOTARY_URL/v2/$GUN/_trust/tuf/$1.json" >"$WORK/role.json"
  python3 -c "import json,sys; d=json.load(open('$WORK/role.json')); print($2)"
}

# both_clients_read TAG: the old client and a fresh one list TAG.
both_clients_read() {
  "${OLD[@]}" list "$GUN" </dev/null >old-list.txt 2>old-list.err ||
    { cat old-list.err >&2; fail "the client that trusted the old root cannot read $GUN"; }
  grep -q "^$1 " old-list.txt || fail "the old client does not list $1"
  fresh list "$GUN" </dev/null >fresh-list.txt 2>&1 || { cat fresh-list.txt >&2; fail "fresh list"; }
  grep -q "^$1 " fresh-list.txt || fail "a fresh client does not list $1"
}

# sign_tag TAG: jeff signs TAG into targets/releases with the real notary client; the home
# then syncs.
sign_tag() {
  local sha
  sha=$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)
  "${OLD[@]}" addhash "$GUN" "$1" 2 --sha256 "$sha" -r targets/releases --publish </dev/null \
    >/dev/null 2>addhash.err || { cat addhash.err >&2; fail "notary addhash $1"; }
  sync
}

step "1. a repository made by airlock; jeff signs v1 with notary"
openssl ecparam -genkey -name prime256v1 -noout -out jeff.ec.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in jeff.ec.pem -out jeff.key
openssl ec -in jeff.ec.pem -pubout -out jeff.pub 2>/dev/null
sync
offline "${A[@]}" signer add jeff "$GUN" --key jeff.pub
publish init
"${OLD[@]}" key import jeff.key --role jeff </dev/null
sign_tag v1
both_clients_read v1
ROOT_V1_CERT=$(server_json root "d['signed']['roles']['root']['keyids'][0]")

step "2. rotate the targets key"
TARGETS_BEFORE=$(server_json root "d['signed']['roles']['targets']['keyids'][0]")
offline "${A[@]}" key rotate "$GUN" targets
publish targets-rotated
TARGETS_AFTER=$(server_json root "d['signed']['roles']['targets']['keyids'][0]")
[ "$TARGETS_BEFORE" != "$TARGETS_AFTER" ] || fail "root still lists the old targets key"
[ "$(server_json targets "d['signatures'][0]['keyid']")" = "$TARGETS_AFTER" ] ||
  fail "targets is not signed by the new targets key"
[ "$(server_json root "d['signed']['version']")" = 2 ] || fail "root is not at version 2"
both_clients_read v1

step "3. rotate the root key: one version step, signed by the old and the new key"
offline "${A[@]}" key rotate "$GUN" root
publish root-rotated
[ "$(server_json root "d['signed']['version']")" = 3 ] || fail "root is not at version 3"
[ "$(server_json root "len(d['signatures'])")" = 2 ] || fail "root v3 lacks two signatures"
ROOT_V3_CERT=$(server_json root "d['signed']['roles']['root']['keyids'][0]")
[ "$ROOT_V3_CERT" != "$ROOT_V1_CERT" ] || fail "root lists the old root certificate"
[ "$(server_json root "'$ROOT_V1_CERT' in d['signed']['keys']")" = True ] ||
  fail "the old root certificate left root.keys (notary keeps it)"
both_clients_read v1
sign_tag v2
both_clients_read v2

step "4. renew the root certificate: same key, new certificate"
ROOT_KEY=$(offline "${A[@]}" --json key list |
  python3 -c "import json,sys; print([k['key_id'] for k in json.load(sys.stdin) if k['role']=='root'][-1])")
offline "${A[@]}" key rotate "$GUN" root --key "$ROOT_KEY"
publish root-renewed
[ "$(server_json root "d['signed']['roles']['root']['keyids'][0]")" != "$ROOT_V3_CERT" ] ||
  fail "root still lists the certificate it renewed"
both_clients_read v2

step "5. take the snapshot key offline: airlock signs snapshots"
offline "${A[@]}" key rotate "$GUN" snapshot
publish snapshot-offline
SNAP_ID=$(server_json root "d['signed']['roles']['snapshot']['keyids'][0]")
[ "$(server_json snapshot "d['signatures'][0]['keyid']")" = "$SNAP_ID" ] ||
  fail "the snapshot is not signed by the offline snapshot key"
both_clients_read v2
# a delegation change needs a new snapshot, which only the home can sign now
offline "${A[@]}" key generate ben --dir "$WORK"
offline "${A[@]}" signer add ben "$GUN" --key ben.pub
publish snapshot-offline-change
shows "^targets/ben " fresh delegation list "$GUN" || fail "targets/ben missing"

step "6. give the snapshot key back to the server"
sync --rotate-server-key snapshot
offline "${A[@]}" key rotate "$GUN" snapshot --server-managed
publish snapshot-server
SERVER_SNAP=$(server_json root "d['signed']['roles']['snapshot']['keyids'][0]")
[ "$SERVER_SNAP" != "$SNAP_ID" ] || fail "root still lists the offline snapshot key"
[ "$(server_json snapshot "d['signatures'][0]['keyid']")" = "$SERVER_SNAP" ] ||
  fail "the server does not sign the snapshot with its new key"
sign_tag v3
both_clients_read v3

step "7. rotate jeff's key: releases re-signed by ben's key, which stays"
openssl ecparam -genkey -name prime256v1 -noout -out jeff2.ec.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in jeff2.ec.pem -out jeff2.key
openssl ec -in jeff2.ec.pem -pubout -out jeff2.pub 2>/dev/null
JEFF_ID=$(key_id_of_pem jeff.pub)
JEFF2_ID=$(key_id_of_pem jeff2.pub)
RELEASES_V=$(server_json targets/releases "d['signed']['version']")
offline "${A[@]}" signer rotate jeff "$GUN" --key jeff2.pub
publish signer-rotated
fresh delegation list "$GUN" </dev/null >dl.txt
grep -q "$JEFF_ID" dl.txt && fail "jeff's old key is still delegated"
grep -Eq "^targets/jeff +\"\" <all paths> +$JEFF2_ID" dl.txt || fail "targets/jeff lacks the new key"
[ "$(server_json targets/releases "d['signed']['version']")" = $((RELEASES_V + 1)) ] ||
  fail "targets/releases was not re-signed once"
both_clients_read v3
"${OLD[@]}" key import jeff2.key --role jeff </dev/null
sign_tag v4
both_clients_read v4
# ben's key is the only one this home holds for releases: rotating it away is refused
openssl ecparam -genkey -name prime256v1 -noout -out ben2.ec.pem 2>/dev/null
openssl ec -in ben2.ec.pem -pubout -out ben2.pub 2>/dev/null
expect_fail 1 "cannot re-sign targets/releases" "${A[@]}" signer rotate ben "$GUN" --key ben2.pub
expect_fail 1 "has no keys to rotate" "${A[@]}" signer rotate nobody "$GUN" --key ben2.pub
expect_fail 1 "already signs" "${A[@]}" signer rotate jeff "$GUN" --key jeff2.pub
expect_fail 2 "--server-managed" "${A[@]}" key rotate "$GUN" timestamp
expect_fail 1 "brought no new server" "${A[@]}" key rotate "$GUN" snapshot --server-managed

step "8. renew before expiry (short lifetimes, real clock)"
offline "${A[@]}" renew "$GUN" --within 4000 2>renew.txt
cat renew.txt >&2
grep -q "root certificate" renew.txt || fail "renew did not renew the root certificate"
grep -q "targets/releases" renew.txt || fail "renew did not renew targets/releases"
CERT_BEFORE=$(server_json root "d['signed']['roles']['root']['keyids'][0]")
publish short-lived --expires 20d
[ "$(server_json root "d['signed']['roles']['root']['keyids'][0]")" != "$CERT_BEFORE" ] ||
  fail "the root certificate was not renewed"
rc=0; offline "${A[@]}" expiry "$GUN" --within 30 >expiry.txt 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat expiry.txt >&2; fail "expiry did not alert on 20-day roles ($rc)"; }
ROOT_V=$(server_json root "d['signed']['version']")
offline "${A[@]}" renew "$GUN" --within 30
publish renewed
[ "$(server_json root "d['signed']['version']")" = $((ROOT_V + 1)) ] || fail "root: not one step"
offline "${A[@]}" expiry "$GUN" --within 30 >expiry.txt 2>&1 || { cat expiry.txt >&2; fail "still due"; }
both_clients_read v4
offline "${A[@]}" renew "$GUN" --within 30 2>renew.txt
grep -q "nothing to renew" renew.txt || fail "renew found something due after renewing"
# renewing twice before an export stages nothing more
offline "${A[@]}" renew "$GUN" --within 4000
offline "${A[@]}" renew "$GUN" --within 4000 2>renew2.txt
grep -q "nothing to renew" renew2.txt || { cat renew2.txt >&2; fail "a second renew staged again"; }
offline "${A[@]}" forget "$GUN" --yes
sync

step "9. recover an expired repository (clock moved with faketime)"
offline "${A[@]}" renew "$GUN" --within 4000
publish two-days --expires 2d
later() { faketime '+5 days' "$@"; }
rm -f late.tar.zst
"$AIRLOCK" pull "$GUN" --server "$NOTARY_URL" -o late.tar.zst
expect_fail 1 "expired" later "${A[@]}" import late.tar.zst
later "${A[@]}" import --allow-expired late.tar.zst
later "${A[@]}" renew "$GUN" --within 30
later "${A[@]}" export "$GUN" -o recovered.tar.zst
"$AIRLOCK" push recovered.tar.zst --server "$NOTARY_URL"
both_clients_read v4
rm -f late2.tar.zst
"$AIRLOCK" pull "$GUN" --server "$NOTARY_URL" -o late2.tar.zst
later "${A[@]}" import late2.tar.zst || fail "the recovered repository does not verify 5 days on"

echo "lifecycle: all steps passed"
