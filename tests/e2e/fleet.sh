#!/usr/bin/env bash
# Many repositories in one ceremony against a real notary-server, judged by notary (issue 7):
# pull and push with --jobs, signer add/remove/rotate, renew, export and inspect with --all;
# a push where one repository moved on reports it, goes on with the others, exits 1, and
# pushing again finishes what is left.
# Usage: tests/e2e/fleet.sh [path/to/airlock] (FLEET_SIZE repositories, default 20)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AIRLOCK=$(realpath "${1:-$ROOT/target/debug/airlock}")
# shellcheck source=tests/e2e/lib.sh
source "$HERE/lib.sh"

e2e_start fleet
SIZE=${FLEET_SIZE:-20}
export AIRLOCK_HOME=$WORK/offline-home OFFLINE_HOME=$WORK/offline-home
test_passphrases
cd "$WORK"
GUNS=()
for i in $(seq 1 "$SIZE"); do GUNS+=("example.com/fleet/app-$i"); done
ON=("$AIRLOCK" --home "$WORK/online-home")
fresh() { rm -rf "$WORK/nf"; notary -s "$NOTARY_URL" -d "$WORK/nf" "$@"; }

step "1. pull $SIZE new repositories at once; jeff joins all of them (--all)"
"${ON[@]}" pull "${GUNS[@]}" --server "$NOTARY_URL" --jobs 4 -o A.tar.zst
"$AIRLOCK" import A.tar.zst
openssl ecparam -genkey -name prime256v1 -noout -out jeff.ec.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in jeff.ec.pem -out jeff.key
openssl ec -in jeff.ec.pem -pubout -out jeff.pub 2>/dev/null
"$AIRLOCK" key generate ben --dir "$WORK" >/dev/null
"$AIRLOCK" signer add jeff --all --key jeff.pub
"$AIRLOCK" signer add ben --all --key ben.pub
"$AIRLOCK" export --all -o B.tar.zst
"${ON[@]}" push B.tar.zst --server "$NOTARY_URL" --jobs 4
for i in 1 "$SIZE"; do
  shows "^targets/jeff " fresh delegation list "example.com/fleet/app-$i" ||
    fail "app-$i lacks targets/jeff"
done
"${ON[@]}" pull "${GUNS[@]}" --server "$NOTARY_URL" -o C.tar.zst
"$AIRLOCK" import C.tar.zst
[ "$("$AIRLOCK" inspect --all | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = "$SIZE" ] ||
  fail "inspect --all does not cover every repository"

step "2. app-3 moves on elsewhere; offboarding jeff from all: app-3 refused, the rest go"
# a copy of the home (a second ceremony) changes app-3's targets first
cp -a "$AIRLOCK_HOME" "$WORK/other-home"
"$AIRLOCK" --home "$WORK/other-home" signer add carl example.com/fleet/app-3 --key ben.pub
"$AIRLOCK" --home "$WORK/other-home" export example.com/fleet/app-3 -o other.tar.zst
"${ON[@]}" push other.tar.zst --server "$NOTARY_URL"
"$AIRLOCK" signer remove jeff --all --yes
"$AIRLOCK" export --all -o D.tar.zst
rc=0; "${ON[@]}" push D.tar.zst --server "$NOTARY_URL" --jobs 4 2>push.txt || rc=$?
cat push.txt >&2
[ "$rc" = 1 ] || fail "a push with one refused repository exited $rc"
grep -q "app-3: REFUSED" push.txt || fail "app-3's refusal is not reported"
[ "$(grep -c ': accepted' push.txt)" = $((SIZE - 1)) ] || fail "the others were not all pushed"
rc=0; "${ON[@]}" push D.tar.zst --server "$NOTARY_URL" 2>push2.txt || rc=$?
[ "$(grep -c 'already on the server' push2.txt)" = $((SIZE - 1)) ] ||
  { cat push2.txt >&2; fail "pushing again did not recognise what was sent"; }
lacks "^targets/jeff " fresh delegation list example.com/fleet/app-1 || fail "jeff still in app-1"

step "3. the stale one is redone; renew --all; the audit log holds the fleet"
"${ON[@]}" pull "${GUNS[@]}" --server "$NOTARY_URL" -o E.tar.zst
"$AIRLOCK" import E.tar.zst 2>import-E.txt
"$AIRLOCK" signer remove jeff --all --yes
"$AIRLOCK" witness --all targets/releases 2>/dev/null || true
"$AIRLOCK" renew --all --within 4000
"$AIRLOCK" export --all -o F.tar.zst
"${ON[@]}" push F.tar.zst --server "$NOTARY_URL" --jobs 4
lacks "^targets/jeff " fresh delegation list example.com/fleet/app-3 || fail "jeff still in app-3"
"$AIRLOCK" audit verify
"${ON[@]}" audit verify
expect_fail 2 "no repository in this home applies" "$AIRLOCK" signer remove nobody --all --yes
expect_fail 2 "cannot be used with\|conflict" "$AIRLOCK" export --all example.com/fleet/app-1 -o X.tar.zst

step "4. on a terminal import draws a progress bar; not with --json, not when piped"
"${ON[@]}" pull "${GUNS[@]}" --server "$NOTARY_URL" -o G.tar.zst
script -qec "'$AIRLOCK' --home '$WORK/tty-a' import G.tar.zst" /dev/null >tty.txt
grep -q "importing \[#*-*\] [0-9]*/$SIZE" tty.txt || { cat tty.txt >&2; fail "no progress bar"; }
script -qec "'$AIRLOCK' --home '$WORK/tty-b' --json import G.tar.zst" /dev/null >tty-json.txt
! grep -q "importing \[" tty-json.txt || fail "a progress bar with --json"
"$AIRLOCK" --home "$WORK/tty-c" import G.tar.zst 2>piped.txt
! grep -q "importing \[" piped.txt || fail "a progress bar on a stderr that is not a terminal"

echo "fleet: all steps passed"
