#!/usr/bin/env bash
# Issue 3's acceptance test: Docker's guide "Delegations for content trust" run twice, each
# side against its own real notary-server with TLS on 127.0.0.1, with the same jeff and ben
# keys and the same GUN:
#   A) the real tools: docker trust key generate/load, docker trust signer add, tags signed
#      with the notary client (as `docker trust sign` does, which needs an engine), jeff
#      removed with notary delegation remove (docker 26+'s signer remove is broken), and
#      notary witness with ben's key;
#   B) airlock: pull -> offline import, key load, signer add, export -> push; the same
#      notary-client signing; signer remove round; witness round.
# Part 1 signs as the guide does, with every key on one machine; part 2 (a second GUN) has
# each signer sign on their own machine, jeff last, so removing jeff leaves targets/releases
# invalid until the witness.
# After the signer adds, the signing, the removal and the witness, the real clients read
# both servers from fresh state (notary delegation list, notary list, docker trust inspect
# with and without --pretty). The outputs must be byte-identical once each side's root and
# targets key IDs and server address are replaced by placeholders; any difference is
# printed as a unified diff and fails. On side B, `airlock inspect` (from the offline home
# after importing a fresh pull) must print exactly what docker trust inspect prints.
# Usage: tests/e2e/differential.sh [path/to/airlock]      (KEEP_WORK=1 keeps the work dir)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AIRLOCK=$(realpath "${1:-$ROOT/target/debug/airlock}")
# shellcheck source=tests/e2e/lib.sh
source "$HERE/lib.sh"
HARNESS=$ROOT/tests/harness/notary-server.sh

command -v docker >/dev/null || fail "the docker CLI is missing (tests/run.sh installs it)"
command -v notary >/dev/null || fail "the notary client is missing (tests/run.sh installs it)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/airlock-diff.XXXXXX")
cleanup() {
  "$HARNESS" stop "$WORK/server-a" >/dev/null 2>&1 || true
  "$HARNESS" stop "$WORK/server-b" >/dev/null 2>&1 || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every client command gets a time limit, so a hung client cannot hang the test.
LIMIT=(timeout 30)

step "start two notary-servers with TLS on 127.0.0.1"
start_server() { # start_server SIDE: sets URL_<SIDE> and CA_<SIDE>
  local env
  env=$("$HARNESS" start --tls --dir "$WORK/server-$1") || fail "server $1 did not start"
  eval "$env"
  case $NOTARY_URL in https://127.0.0.1:*) ;; *) fail "server $1 is not https on 127.0.0.1" ;; esac
  printf -v "URL_$1" '%s' "$NOTARY_URL"
  printf -v "CA_$1" '%s' "$NOTARY_CA"
  unset NOTARY_URL NOTARY_PID NOTARY_DIR NOTARY_CA
}
start_server a
start_server b
[ "$URL_a" != "$URL_b" ] || fail "both servers got the same URL"

# A registry name that is not loopback, so the docker CLI really verifies the servers'
# certificates (it skips verification for loopback refs); the registry is never contacted.
REF=registry.example.com/admin/demo
GUN=$REF

# Isolated client state; nothing under the real HOME is read or written.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_CONTENT_TRUST DOCKER_CONTENT_TRUST_SERVER
export HOME=$WORK/home
mkdir -p "$HOME" "$WORK/keys" "$WORK/out"
# docker_config DIR: a DOCKER_CONFIG that trusts both servers' CAs
docker_config() {
  local side url
  mkdir -p "$1"
  echo '{}' >"$1/config.json"
  for side in a b; do
    url=URL_$side
    url=${!url}
    mkdir -p "$1/tls/${url#https://}"
    cp "$WORK/server-$side/tls/ca.crt" "$1/tls/${url#https://}/ca.crt"
  done
}
ADMIN_A=$WORK/admin-a/.docker # side A's administrator: docker's trust dir holds every key
READER=$WORK/reader/.docker   # reads both sides; its trust dir is wiped before every read
docker_config "$ADMIN_A"
docker_config "$READER"

ROOT_PASS=root-pass-diff
REPO_PASS=repo-pass-diff
export DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE=$ROOT_PASS
export DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=$REPO_PASS
# The notary client on docker's trust dir: docker encrypts signer and targets keys with the
# repository passphrase.
export NOTARY_ROOT_PASSPHRASE=$ROOT_PASS NOTARY_TARGETS_PASSPHRASE=$REPO_PASS
export NOTARY_SNAPSHOT_PASSPHRASE=$REPO_PASS NOTARY_DELEGATION_PASSPHRASE=$REPO_PASS
export AIRLOCK_SCRYPT_WORK_FACTOR=12 # tests only: a cheap scrypt
export AIRLOCK_ROOT_PASSPHRASE=root-pass-airlock AIRLOCK_TARGETS_PASSPHRASE=targets-pass-airlock
export AIRLOCK_DELEGATION_PASSPHRASE=deleg-pass-airlock

# docker as side A's administrator, and as the reader of SIDE
docker_admin() { DOCKER_CONFIG=$ADMIN_A DOCKER_CONTENT_TRUST_SERVER=$URL_a "${LIMIT[@]}" docker "$@"; }
docker_read() { # docker_read SIDE ARGS...
  local url=URL_$1; shift
  rm -rf "$READER/trust"
  DOCKER_CONFIG=$READER DOCKER_CONTENT_TRUST_SERVER=${!url} "${LIMIT[@]}" docker "$@"
}
# notary_on SIDE TRUST_DIR ARGS...
notary_on() {
  local url=URL_$1 ca=CA_$1 dir=$2; shift 2
  "${LIMIT[@]}" notary -s "${!url}" --tlscacert "${!ca}" -d "$dir" "$@"
}
notary_read() { # notary_read SIDE ARGS...: from an empty trust dir
  rm -rf "$WORK/notary-reader"
  notary_on "$1" "$WORK/notary-reader" "${@:2}"
}

# sign SIDE TRUST_DIR TAG ROLE...: what `docker trust sign REF:TAG` does with the keys of
# TRUST_DIR (it signs into targets/releases and every targets/<signer> role it holds a key
# for); it needs an engine, the notary client does the same without one
sign() {
  local side=$1 dir=$2 tag=$3 role roles=(); shift 3
  for role in "$@"; do roles+=(-r "$role"); done
  quiet notary_on "$side" "$dir" addhash "$GUN" "$tag" "${#tag}0" \
    --sha256 "$(printf 'manifest %s' "$tag" | sha256sum | cut -d' ' -f1)" "${roles[@]}" --publish
}
# signer_dir SIDE NAME...: a signer's own notary trust dir holding only NAME's private keys
# (docker's files, copied from side A's administrator)
signer_dir() {
  local dir=$WORK/signers-$1-${*:2} name key
  dir=${dir// /-}
  mkdir -p "$dir/private"
  for name in "${@:2}"; do
    key=$(grep -l "^role: $name\$" "$ADMIN_A"/trust/private/*.key) || fail "no $name key in docker's trust dir"
    cp "$key" "$dir/private/"
  done
  echo "$dir"
}

# observe SIDE MOMENT: what the real clients show, from fresh client state
observe() {
  local d=$WORK/out/$1/$2
  mkdir -p "$d"
  capture "$d/notary-delegation-list" notary_read "$1" delegation list "$GUN"
  capture "$d/notary-list" notary_read "$1" list "$GUN"
  capture "$d/docker-trust-inspect" docker_read "$1" trust inspect "$REF"
  capture "$d/docker-trust-inspect-pretty" docker_read "$1" trust inspect --pretty "$REF"
  capture "$d/docker-trust-inspect-pretty-v1" docker_read "$1" trust inspect --pretty "$REF:v1"
  # with KEEP_WORK=1, the raw metadata as served too, for a look afterwards
  local role url=URL_$1 ca=CA_$1
  [ "${KEEP_WORK:-0}" = 1 ] &&
    for role in root targets snapshot timestamp targets/releases targets/jeff targets/ben; do
      mkdir -p "$d/metadata/$(dirname "$role")"
      "${LIMIT[@]}" curl -sf --cacert "${!ca}" -o "$d/metadata/$role.json" \
        "${!url}/v2/$GUN/_trust/tuf/$role.json" || rm -f "$d/metadata/$role.json"
    done
  # sanity: docker must have read the repository (else every output is an equal error)
  grep -q '"AdministrativeKeys"' "$d/docker-trust-inspect.stdout" ||
    { cat "$d/docker-trust-inspect" >&2; fail "docker trust inspect did not read side $1 ($2)"; }
}

# normalise SIDE MOMENT: replaces the side's root and targets key IDs (as docker trust
# inspect reports them at that moment), its server address and the work dir by placeholders
normalise() {
  local d=$WORK/out/$1/$2 url=URL_$1 root targets f
  url=${!url}
  # the ID on the line after "Name": "Root" (or "Repository") among the AdministrativeKeys
  admin_id() {
    awk -v name="\"$1\"," '$1 == "\"Name\":" && $2 == name { want = 1; next }
      want && $1 == "\"ID\":" { gsub(/"/, "", $2); print $2; exit }' "$d/docker-trust-inspect.stdout"
  }
  root=$(admin_id Root)
  targets=$(admin_id Repository)
  [[ $root =~ ^[0-9a-f]{64}$ && $targets =~ ^[0-9a-f]{64}$ ]] ||
    fail "no root or targets key ID in side $1's docker trust inspect ($2)"
  for f in "$d"/*; do
    [ -f "$f" ] && [[ $(basename "$f") != *.* ]] || continue
    sed -e "s/$root/<ROOT_ID>/g; s/${root:0:12}/<ROOT_ID12>/g" \
      -e "s/$targets/<TARGETS_ID>/g; s/${targets:0:12}/<TARGETS_ID12>/g" \
      -e "s|${url//./\\.}|<SERVER_URL>|g; s|${url#https://}|<SERVER>|g; s|$WORK|<WORK>|g" \
      -e 's/time="[^"]*"/time="<TIME>"/g' "$f" >"$f.norm"
  done
}

DIFFS=0
# compare MOMENT: side A's normalised outputs against side B's
compare() {
  local f name
  normalise a "$1"
  normalise b "$1"
  for f in "$WORK/out/a/$1"/*.norm; do
    name=$(basename "$f")
    if ! diff -u --label "real-tools/$1/${name%.norm}" --label "airlock/$1/${name%.norm}" \
      "$f" "$WORK/out/b/$1/$name"; then
      DIFFS=$((DIFFS + 1))
    fi
  done
}

A=("$AIRLOCK" --home "$WORK/airlock-home")
n=0
# round: pull, offline import, the staged commands given as arguments, export, push
round() {
  n=$((n + 1))
  quiet "${LIMIT[@]}" "$AIRLOCK" pull "$GUN" --server "$URL_b" --tlscacert "$CA_b" -o "$WORK/pull$n.tar.zst"
  quiet offline "${LIMIT[@]}" "${A[@]}" import "$WORK/pull$n.tar.zst"
  "$@"
  quiet offline "${LIMIT[@]}" "${A[@]}" export "$GUN" -o "$WORK/resp$n.tar.zst"
  quiet "${LIMIT[@]}" "$AIRLOCK" push "$WORK/resp$n.tar.zst" --server "$URL_b" --tlscacert "$CA_b"
}
# airlock_observe MOMENT: airlock inspect from the offline home after importing a fresh
# pull must print what docker trust inspect printed on side B
airlock_observe() {
  local d=$WORK/out/b/$1 args kind
  n=$((n + 1))
  quiet "${LIMIT[@]}" "$AIRLOCK" pull "$GUN" --server "$URL_b" --tlscacert "$CA_b" -o "$WORK/pull$n.tar.zst"
  quiet offline "${LIMIT[@]}" "${A[@]}" import "$WORK/pull$n.tar.zst"
  for args in "$REF" "--pretty $REF" "--pretty $REF:v1"; do
    kind=docker-trust-inspect
    case $args in --pretty*:v1) kind+=-pretty-v1 ;; --pretty*) kind+=-pretty ;; esac
    # shellcheck disable=SC2086 # args is split on purpose
    capture "$d/airlock-$kind" offline "${LIMIT[@]}" "${A[@]}" inspect $args
    # stdout and exit status must match; docker's stderr is its own
    if ! diff -u --label "docker/$1/$kind" --label "airlock-inspect/$1/$kind" \
      "$d/$kind.stdout" "$d/airlock-$kind.stdout"; then
      DIFFS=$((DIFFS + 1))
    fi
    if [ "$(tail -n1 "$d/$kind")" != "$(tail -n1 "$d/airlock-$kind")" ]; then
      echo "$1/$kind: docker $(tail -n1 "$d/$kind"), airlock inspect $(tail -n1 "$d/airlock-$kind")"
      DIFFS=$((DIFFS + 1))
    fi
  done
}

# Part 1 signs as the guide does, on the administrator's machine, which holds every key:
# targets/releases carries jeff's and ben's signatures.
sign_part1() { # sign_part1 SIDE
  local dir
  if [ "$1" = a ]; then dir=$ADMIN_A/trust; else dir=$(signer_dir b jeff ben); fi
  sign "$1" "$dir" v1 targets/releases targets/jeff
  sign "$1" "$dir" v2 targets/releases targets/jeff targets/ben
  sign "$1" "$dir" unreleased targets/ben
}
# Part 2 signs as signers do on their own machines: ben signs v2, then jeff v1, so
# targets/releases is signed by jeff alone and his removal leaves it invalid until witnessed.
sign_part2() { # sign_part2 SIDE
  local ben jeff
  ben=$(signer_dir "$1" ben)
  jeff=$(signer_dir "$1" jeff)
  sign "$1" "$ben" v2 targets/releases targets/ben
  sign "$1" "$ben" unreleased targets/ben
  sign "$1" "$jeff" v1 targets/releases targets/jeff
}

# guide PART: the guide from signer add to witness on both sides, compared at each moment
guide() {
  local p=$1
  step "part $p, A: docker trust signer add jeff and ben"
  quiet docker_admin trust signer add --key jeff.pub jeff "$REF"
  quiet docker_admin trust signer add --key ben.crt ben "$REF"
  observe a "p$p-1-signers-added"

  step "part $p, B: airlock pull, signer add jeff and ben, export, push"
  stage_signers() {
    quiet offline "${LIMIT[@]}" "${A[@]}" signer add jeff "$GUN" --key jeff.pub
    quiet offline "${LIMIT[@]}" "${A[@]}" signer add ben "$GUN" --key ben.crt
  }
  round stage_signers
  observe b "p$p-1-signers-added"
  airlock_observe "p$p-1-signers-added"
  compare "p$p-1-signers-added"

  step "part $p, A and B: tags signed with the notary client"
  "sign_part$p" a
  "sign_part$p" b
  observe a "p$p-2-signed"
  observe b "p$p-2-signed"
  airlock_observe "p$p-2-signed"
  compare "p$p-2-signed"

  step "part $p, A: notary delegation remove jeff from targets/releases, then targets/jeff"
  quiet notary_on a "$ADMIN_A/trust" delegation remove "$GUN" targets/releases "$JEFF_ID" --publish
  quiet notary_on a "$ADMIN_A/trust" delegation remove "$GUN" targets/jeff -y --publish
  observe a "p$p-3-removed"

  step "part $p, B: airlock signer remove jeff"
  round quiet offline "${LIMIT[@]}" "${A[@]}" signer remove jeff "$GUN"
  observe b "p$p-3-removed"
  airlock_observe "p$p-3-removed"
  compare "p$p-3-removed"

  step "part $p, A: notary witness targets/releases (ben's key)"
  quiet notary_on a "$ADMIN_A/trust" witness "$GUN" targets/releases --publish
  observe a "p$p-4-witnessed"

  step "part $p, B: airlock witness targets/releases (ben's key)"
  round quiet offline "${LIMIT[@]}" "${A[@]}" witness "$GUN" targets/releases
  observe b "p$p-4-witnessed"
  airlock_observe "p$p-4-witnessed"
  compare "p$p-4-witnessed"
}

cd "$WORK/keys"
step "keys: jeff with docker trust key generate, ben with openssl; loaded into docker and airlock"
openssl genrsa -out ben.key 2048 2>/dev/null
openssl req -new -x509 -key ben.key -out ben.crt -days 365 -subj /CN=ben 2>/dev/null
quiet docker_admin trust key generate jeff --dir "$WORK/keys"
quiet docker_admin trust key load ben.key --name ben
quiet offline "${LIMIT[@]}" "${A[@]}" key load ben.key --name ben
JEFF_ID=$(key_id_of_pem jeff.pub)

guide 1
REF=registry.example.com/admin/demo-revoke
GUN=$REF
guide 2

# part 2 really exercised the witness: releases was invalid after the removal
grep -q '^v1 ' "$WORK/out/a/p2-3-removed/notary-list" &&
  fail "part 2: v1 still listed after jeff's removal; the witness was not needed"
grep -q '^v1 ' "$WORK/out/a/p2-4-witnessed/notary-list" || fail "part 2: v1 not back after witness"

[ "$DIFFS" = 0 ] || fail "$DIFFS outputs differ between the real tools and airlock (diffs above)"
echo "differential: the real tools and airlock agree at every step"
