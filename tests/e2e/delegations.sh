#!/usr/bin/env bash
# The Docker delegation guide's operations done offline with airlock, each pushed to a real
# notary-server and judged by the real notary client: signer add, a signer signing with the
# notary client, signer remove (releases becomes invalid), witness (valid again), delegation
# add with paths, delegation remove of a key (either ID form) and of a role.
# Usage: tests/e2e/delegations.sh [path/to/airlock]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AIRLOCK=$(realpath "${1:-$ROOT/target/debug/airlock}")
source "$HERE/lib.sh"

e2e_start deleg
GUN=example.com/guide/app
OFFLINE_HOME=$WORK/home
export AIRLOCK_SCRYPT_WORK_FACTOR=12 AIRLOCK_ROOT_PASSPHRASE=r AIRLOCK_TARGETS_PASSPHRASE=t
export AIRLOCK_DELEGATION_PASSPHRASE=d
export NOTARY_ROOT_PASSPHRASE=x NOTARY_TARGETS_PASSPHRASE=x NOTARY_SNAPSHOT_PASSPHRASE=x
export NOTARY_DELEGATION_PASSPHRASE=jeff-pass
cd "$WORK"
A=("$AIRLOCK" --home "$OFFLINE_HOME")
n=0
# round: pull, import, run the staged airlock commands given as arguments, export, push
round() {
  n=$((n + 1))
  "$AIRLOCK" pull "$GUN" --server "$NOTARY_URL" -o "pull$n.tar.zst" 2>/dev/null
  offline "${A[@]}" import "pull$n.tar.zst"
  "$@"
  offline "${A[@]}" export "$GUN" -o "resp$n.tar.zst"
  "$AIRLOCK" push "resp$n.tar.zst" --server "$NOTARY_URL"
}
fresh_notary() { rm -rf "$WORK/nt"; notary -s "$NOTARY_URL" -d "$WORK/nt" "$@" </dev/null; }

step "signer add jeff (openssl key) and ben (airlock key)"
openssl ecparam -genkey -name prime256v1 -noout -out jeff.ec.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in jeff.ec.pem -out jeff.key
openssl ec -in jeff.ec.pem -pubout -out jeff.pub 2>/dev/null
JEFF_ID=$(key_id_of_pem jeff.pub)
stage_signers() {
  offline "${A[@]}" key generate ben --dir "$WORK"
  offline "${A[@]}" signer add jeff "$GUN" --key jeff.pub
  offline "${A[@]}" signer add ben "$GUN" --key ben.pub
}
round stage_signers
BEN_ID=$(key_id_of_pem ben.pub)

step "jeff signs v1 into targets/releases with the notary client"
NJ=(notary -s "$NOTARY_URL" -d "$WORK/jeff-trust")
"${NJ[@]}" key import jeff.key --role jeff </dev/null
SHA=$(printf 'manifest v1' | sha256sum | cut -d' ' -f1)
"${NJ[@]}" addhash "$GUN" v1 11 --sha256 "$SHA" -r targets/releases --publish </dev/null
shows "^v1 " fresh_notary list "$GUN" || fail "v1 not listed after jeff signed"

step "signer remove jeff: releases is left signed by a removed key"
round offline "${A[@]}" signer remove jeff "$GUN"
fresh_notary delegation list "$GUN" | tee dl.txt
grep -q "^targets/jeff " dl.txt && fail "targets/jeff still there"
grep -Eq "^targets/releases +\"\" <all paths> +$BEN_ID +1" dl.txt || fail "releases lost ben"
grep -q "$JEFF_ID" dl.txt && fail "jeff's key still listed"
fresh_notary list "$GUN" > list.txt 2>list.err || true
grep -q "^v1 " list.txt && fail "v1 still listed although releases is signed by a removed key"

step "witness targets/releases with ben's key: v1 is released again"
"$AIRLOCK" pull "$GUN" --server "$NOTARY_URL" -o w.tar.zst 2>/dev/null
offline "${A[@]}" import w.tar.zst 2>import-w.txt
grep -q "targets/releases is not valid" import-w.txt || fail "import did not report releases invalid"
offline "${A[@]}" witness "$GUN" targets/releases
offline "${A[@]}" export "$GUN" -o w-resp.tar.zst
"$AIRLOCK" push w-resp.tar.zst --server "$NOTARY_URL"
shows "^v1 " fresh_notary list "$GUN" || fail "v1 not listed after witness"

step "delegation add with paths, then remove a key by its TUF ID, then the role"
round offline "${A[@]}" delegation add "$GUN" targets/qa --key jeff.pub --paths qa/ ci/
fresh_notary delegation list "$GUN" | tee dl2.txt
# notary shows paths sorted
grep -Eq "^targets/qa +ci/ +$JEFF_ID +1" dl2.txt || fail "targets/qa not as added"
grep -Eq "^ +qa/ *$" dl2.txt || fail "second path missing"
offline "${A[@]}" delegation list "$GUN" > ours.txt
diff <(grep targets/qa -A1 ours.txt) <(grep targets/qa -A1 dl2.txt) || fail "our listing differs"
round offline "${A[@]}" delegation remove "$GUN" targets/qa "$JEFF_ID"
fresh_notary delegation list "$GUN" >qa.txt || fail "delegation list failed"
grep -Eq "^targets/qa +ci/ +1" qa.txt || fail "qa still holds a key"
round offline "${A[@]}" delegation remove "$GUN" targets/qa --yes
lacks "^targets/qa" fresh_notary delegation list "$GUN" || fail "targets/qa still there"

step "a certificate expiring within six months is accepted with a warning"
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout kim.key \
  -out kim.crt -days 30 -subj /CN=kim 2>/dev/null
offline "${A[@]}" signer add kim "$GUN" --key kim.crt 2>kim.txt
grep -q "certificate of kim expires on .* within six months" kim.txt || fail "no expiry warning"
offline "${A[@]}" signer remove kim "$GUN" --yes 2>/dev/null
offline "${A[@]}" export "$GUN" -o kim-resp.tar.zst 2>/dev/null

step "refusals stage nothing and bump no version"
expect_fail 2 "does not hold key" "${A[@]}" delegation remove "$GUN" targets/releases "$JEFF_ID"
expect_fail 1 "not a signer" "${A[@]}" signer remove nobody "$GUN"
expect_fail 1 "no signed file" "${A[@]}" witness "$GUN" targets/ben
expect_fail 2 "directly under targets" "${A[@]}" delegation add "$GUN" targets/a/b --key jeff.pub --all-paths
shows "no pending changes" "${A[@]}" status "$GUN" || fail "a refusal staged something"

echo "delegations: all steps passed"
