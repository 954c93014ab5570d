#!/usr/bin/env bash
# The sneakernet round trip against a real notary-server, judged by the real notary client
# (issue 2's acceptance test):
#   pull (new GUN) -> offline import, key generate, signer add, export -> push ->
#   notary delegation list / notary list from an empty trust dir -> jeff signs a target with
#   the real notary client -> pull + import again verifies the delegation-signed metadata ->
#   bad input on each command changes nothing.
# Usage: tests/e2e/roundtrip.sh [path/to/airlock]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AIRLOCK=$(realpath "${1:-$ROOT/target/debug/airlock}")
# shellcheck source=tests/e2e/lib.sh
source "$HERE/lib.sh"

e2e_start e2e
GUN=example.com/team/app
OFFLINE_HOME=$WORK/offline-home
export AIRLOCK_SCRYPT_WORK_FACTOR=12 # tests only: a cheap scrypt
export AIRLOCK_ROOT_PASSPHRASE=root-pass-e2e
export AIRLOCK_TARGETS_PASSPHRASE=targets-pass-e2e
export AIRLOCK_DELEGATION_PASSPHRASE=deleg-pass-e2e
cd "$WORK"

step "1. pull a new repository"
"$AIRLOCK" pull "$GUN" --server "$NOTARY_URL" -o A.tar.zst
"$AIRLOCK" bundle inspect A.tar.zst | tee inspect-A.txt
grep -q "kind:     pull" inspect-A.txt || fail "bundle inspect does not say pull"
grep -q "server-keys/timestamp.json" inspect-A.txt || fail "pull bundle lacks the timestamp key"

step "2. offline: import, key generate, signer add, export (no network)"
offline "$AIRLOCK" --home "$OFFLINE_HOME" import A.tar.zst
offline "$AIRLOCK" --home "$OFFLINE_HOME" key generate ben --dir "$WORK"
openssl ecparam -genkey -name prime256v1 -noout -out jeff.ec.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in jeff.ec.pem -out jeff.key
openssl ec -in jeff.ec.pem -pubout -out jeff.pub 2>/dev/null
offline "$AIRLOCK" --home "$OFFLINE_HOME" signer add jeff "$GUN" --key jeff.pub
offline "$AIRLOCK" --home "$OFFLINE_HOME" signer add ben "$GUN" --key ben.pub
offline "$AIRLOCK" --home "$OFFLINE_HOME" status | tee status.txt
grep -q "pending: initialise" status.txt || fail "status does not show the initialisation"
offline "$AIRLOCK" --home "$OFFLINE_HOME" delegation list "$GUN"
offline "$AIRLOCK" --home "$OFFLINE_HOME" export "$GUN" -o B.tar.zst
"$AIRLOCK" bundle inspect B.tar.zst | tee inspect-B.txt
grep -q "kind:     response" inspect-B.txt || fail "bundle inspect does not say response"

step "3. push"
"$AIRLOCK" push B.tar.zst --server "$NOTARY_URL"
"$AIRLOCK" push B.tar.zst --server "$NOTARY_URL" 2>push-again.txt || fail "a repeated push failed"
grep -q "already on the server" push-again.txt || fail "a repeated push did not say so"

step "4. the real notary client reads it from an empty trust dir"
export NOTARY_ROOT_PASSPHRASE=x NOTARY_TARGETS_PASSPHRASE=x NOTARY_SNAPSHOT_PASSPHRASE=x
export NOTARY_DELEGATION_PASSPHRASE=jeff-notary-pass
N=(notary -s "$NOTARY_URL" -d "$WORK/notary-trust")
"${N[@]}" delegation list "$GUN" </dev/null | tee dl.txt
JEFF_ID=$(key_id_of_pem jeff.pub)
BEN_ID=$(key_id_of_pem ben.pub)
grep -Eq "^targets/jeff +\"\" <all paths> +$JEFF_ID +1" dl.txt || fail "targets/jeff missing"
grep -Eq "^targets/ben +\"\" <all paths> +$BEN_ID +1" dl.txt || fail "targets/ben missing"
grep -Eq "^targets/releases +\"\" <all paths> +$JEFF_ID +1" dl.txt || fail "releases lacks jeff"
grep -Eq "^ +$BEN_ID" dl.txt || fail "releases lacks ben"
"${N[@]}" list "$GUN" </dev/null

step "5. jeff signs a target with the real notary client"
"${N[@]}" key import jeff.key --role jeff </dev/null
SHA=$(printf 'manifest v1' | sha256sum | cut -d' ' -f1)
"${N[@]}" addhash "$GUN" v1 11 --sha256 "$SHA" -r targets/releases --publish </dev/null
"${N[@]}" list "$GUN" </dev/null | tee list.txt
grep -q "^v1 .*$SHA" list.txt || fail "notary list does not show v1"

step "6. a new pull + import verifies the delegation-signed metadata"
"$AIRLOCK" pull "$GUN" --server "$NOTARY_URL" -o C.tar.zst
offline "$AIRLOCK" --home "$OFFLINE_HOME" --json import C.tar.zst | tee import-C.json
python3 - import-C.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["guns"][0]
assert r["new"] is False, r
assert r["invalid_roles"] == {}, r
assert r["versions"]["targets/releases"] == 1, r
assert r["versions"]["root"] == 1 and r["versions"]["targets"] == 1, r
assert r["export_confirmed"] is True, r
PY

step "6b. the expiry calendar alerts through its exit code"
offline "$AIRLOCK" --home "$OFFLINE_HOME" expiry "$GUN" | tee expiry.txt
grep -Eq "^$GUN +targets/releases " expiry.txt || fail "expiry lacks targets/releases"
grep -q "root certificate" expiry.txt || fail "expiry lacks the root certificate"
rc=0; "$AIRLOCK" --home "$OFFLINE_HOME" expiry "$GUN" --within 4000 >/dev/null 2>expiry.err || rc=$?
[ "$rc" = 1 ] && grep -q "expire within 4000 days" expiry.err || fail "expiry did not alert ($rc)"

step "7. a populated repository made by notary: load its targets key, add a signer, push"
GUN2=example.com/team/populated
N2=(notary -s "$NOTARY_URL" -d "$WORK/notary-admin")
export NOTARY_TARGETS_PASSPHRASE=admin-targets NOTARY_SNAPSHOT_PASSPHRASE=admin-targets
"${N2[@]}" init "$GUN2" --publish </dev/null
"${N2[@]}" key rotate "$GUN2" snapshot -r </dev/null
"${N2[@]}" delegation add "$GUN2" targets/releases jeff.pub --all-paths --publish </dev/null
"${N2[@]}" key import jeff.key --role jeff </dev/null
for tag in 'v1.0' 'a<b>&c' 'uni-üñï-☃'; do
  "${N2[@]}" addhash "$GUN2" "$tag" 11 --sha256 "$SHA" -r targets/releases --publish </dev/null
done
"${N2[@]}" addhash "$GUN2" latest 11 --sha256 "$SHA" --publish </dev/null
"$AIRLOCK" pull "$GUN2" --server "$NOTARY_URL" -o P.tar.zst
offline "$AIRLOCK" --home "$OFFLINE_HOME" import P.tar.zst
cp "$(grep -l '^role: targets' "$WORK"/notary-admin/private/*.key)" targets.key
AIRLOCK_IMPORT_PASSPHRASE=admin-targets offline "$AIRLOCK" --home "$OFFLINE_HOME" key load targets.key
offline "$AIRLOCK" --home "$OFFLINE_HOME" signer add ben "$GUN2" --key ben.pub
offline "$AIRLOCK" --home "$OFFLINE_HOME" export "$GUN2" -o Q.tar.zst
"$AIRLOCK" push Q.tar.zst --server "$NOTARY_URL"
# A fresh client must read everything through the server-made snapshot, which hashes Go's
# re-serialisation of our targets.json: this fails unless our bytes are Go-stable.
N3=(notary -s "$NOTARY_URL" -d "$WORK/notary-fresh")
"${N3[@]}" list "$GUN2" </dev/null | tee list2.txt
for tag in 'v1.0' 'a<b>&c' 'uni-üñï-☃' latest; do
  grep -q "^$tag " list2.txt || fail "notary list lacks $tag after our push"
done
"${N3[@]}" delegation list "$GUN2" </dev/null | tee dl2.txt
grep -Eq "^targets/ben +\"\" <all paths> +$BEN_ID +1" dl2.txt || fail "targets/ben missing"
grep -Eq "^ +$BEN_ID" dl2.txt || fail "releases lacks ben"
# and a later publish by the real client on top of ours works
"${N2[@]}" addhash "$GUN2" v2.0 11 --sha256 "$SHA" --publish </dev/null
shows "^v2.0 " "${N3[@]}" list "$GUN2" || fail "notary publish after ours failed"
# the server moved on (that publish) since our export: a new response conflicts
offline "$AIRLOCK" --home "$OFFLINE_HOME" signer add carol "$GUN2" --key jeff.pub
offline "$AIRLOCK" --home "$OFFLINE_HOME" export "$GUN2" -o R.tar.zst
rc=0; "$AIRLOCK" push R.tar.zst --server "$NOTARY_URL" 2>push-conflict.txt || rc=$?
cat push-conflict.txt >&2
[ "$rc" = 1 ] || fail "a conflicting push exited $rc, expected 1"
grep -q "the server moved on" push-conflict.txt || fail "a conflicting push does not say why"

step "8. an initialising export that never reached the server is discarded on the next pull"
GUN3=example.com/team/unpushed
"$AIRLOCK" pull "$GUN3" --server "$NOTARY_URL" -o U1.tar.zst
offline "$AIRLOCK" --home "$OFFLINE_HOME" import U1.tar.zst
offline "$AIRLOCK" --home "$OFFLINE_HOME" signer add jeff "$GUN3" --key jeff.pub
offline "$AIRLOCK" --home "$OFFLINE_HOME" export "$GUN3" -o U1r.tar.zst
# (U1r is lost, never pushed) the server still has nothing; a new pull makes new server keys
"$AIRLOCK" pull "$GUN3" --server "$NOTARY_URL" -o U2.tar.zst
offline "$AIRLOCK" --home "$OFFLINE_HOME" import U2.tar.zst 2>import-U2.txt
cat import-U2.txt >&2
grep -q "never accepted response" import-U2.txt || fail "the stale export was not reported"
offline "$AIRLOCK" --home "$OFFLINE_HOME" signer add jeff "$GUN3" --key jeff.pub
offline "$AIRLOCK" --home "$OFFLINE_HOME" export "$GUN3" -o U2r.tar.zst
"$AIRLOCK" push U2r.tar.zst --server "$NOTARY_URL"
shows "^targets/jeff " "${N3[@]}" delegation list "$GUN3" || fail "GUN3 unreadable"

step "9. bad input changes nothing"
bad_input_checks

echo "roundtrip: all steps passed"
