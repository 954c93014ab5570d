#!/usr/bin/env bash
# fleet.sh: airlock against the real notary CLI on one local notary-server (issue 7).
#
#   benches/fleet.sh                         # FLEET_SIZES="100 500", 100,000-target witness
#   FLEET_SIZES="10 30" WITNESS_TARGETS=10000 benches/fleet.sh   # quick, for development
#
# 1. Offboarding one signer (jeff) from N repositories, for each N in FLEET_SIZES:
#    airlock: pull, import, signer remove, export, push (each one command for all N GUNs),
#    with the key store's real passphrase cost (AIRLOCK_SCRYPT_WORK_FACTOR unset);
#    notary: per GUN, `delegation remove GUN targets/releases JEFF` and
#    `delegation remove -y --publish GUN targets/jeff`.
#    Each side offboards its own N repositories of the same shape: root, targets with
#    targets/releases {jeff, ben}, targets/jeff and targets/ben, server-managed snapshot and
#    timestamp. airlock's are made by airlock (its key store holds their root and targets
#    keys); notary's by `notary init` (its trust dir holds them), since neither tool can
#    export its private keys to the other. Setting them up is not timed.
# 2. Witnessing a targets/releases of WITNESS_TARGETS targets (written by
#    examples/fleet_releases.rs, signed by jeff, posted to the server): airlock witness +
#    export (and pull, import, push) against `notary witness -p`, whose server-side share is
#    the duration the server logs for the POST.
# 3. Verifying the pull bundle of that repository offline (import --dry-run, import into a
#    fresh home, and `bundle inspect`) against sha256 over the same bytes (the decompressed
#    archive).
# 4. Peak RSS of every measured command (/usr/bin/time -v).
#
# Prints a Markdown report on stdout (progress on stderr) and keeps it in $OUT (default
# target/fleet-report.md). Needs: cargo, notary and notary-server (installed by the harness),
# openssl, zstd, curl, python3, /usr/bin/time (apt-get install time).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FLEET_SIZES=${FLEET_SIZES:-"100 500"}
WITNESS_TARGETS=${WITNESS_TARGETS:-100000}
REPS=${REPS:-5}
# One at a time by default: notary init and key rotate -r make server keys, and two at once
# can crash notary-server 0.7.0's local signer (see airlock_fleet below).
SETUP_JOBS=${SETUP_JOBS:-1}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=${OUT:-$TARGET_DIR/fleet-report.md}
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

[ -x /usr/bin/time ] || { apt-get install -y time >&2 || fail "install the 'time' package"; }
unset AIRLOCK_SCRYPT_WORK_FACTOR # the real passphrase cost

step "building (release)"
(cd "$ROOT" && cargo build --release --quiet &&
  cargo build --release --quiet --example fleet_releases)
AIRLOCK=$TARGET_DIR/release/airlock
GEN=$TARGET_DIR/release/examples/fleet_releases

e2e_start fleet
cd "$WORK"
mkdir -p t
export AIRLOCK_ROOT_PASSPHRASE=bench-root AIRLOCK_TARGETS_PASSPHRASE=bench-targets
export AIRLOCK_DELEGATION_PASSPHRASE=bench-deleg
export NOTARY_ROOT_PASSPHRASE=bench-root NOTARY_TARGETS_PASSPHRASE=bench-targets
export NOTARY_SNAPSHOT_PASSPHRASE=bench-targets NOTARY_DELEGATION_PASSPHRASE=bench-deleg

declare -A USEC RSS

# measure LABEL CMD...: runs CMD once under /usr/bin/time -v; keeps its wall time
# (microseconds) and peak RSS (KiB).
measure() {
  local label=$1 t0 t1 rc=0
  shift
  t0=$(date +%s%N)
  /usr/bin/time -v -o "t/$label.time" "$@" >"t/$label.out" 2>"t/$label.err" </dev/null || rc=$?
  t1=$(date +%s%N)
  [ "$rc" = 0 ] || { tail -n 20 "t/$label.err" >&2; fail "exit $rc: $*"; }
  USEC[$label]=$(((t1 - t0) / 1000))
  RSS[$label]=$(awk -F': ' '/Maximum resident set size/ {print $2}' "t/$label.time")
}

# median LABEL: the median wall time of LABEL-1 .. LABEL-$REPS into LABEL (RSS: the largest).
median() {
  local label=$1 i
  USEC[$label]=$(for i in $(seq "$REPS"); do echo "${USEC[$label-$i]}"; done | sort -n |
    awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  RSS[$label]=$(for i in $(seq "$REPS"); do echo "${RSS[$label-$i]}"; done | sort -n | tail -n 1)
}

ms() { awk -v u="$1" 'BEGIN {printf "%.0f", u / 1000}'; }
secs() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1e6}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b > 0 ? a / b : 0)}'; }

# Signers: jeff leaves, ben stays. Both are keys made outside either tool, so both tools can
# hold ben's private key for the witness.
for who in jeff ben; do
  openssl ecparam -genkey -name prime256v1 -noout -out "$who.ec.pem" 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in "$who.ec.pem" -out "$who.key"
  openssl ec -in "$who.ec.pem" -pubout -out "$who.pub" 2>/dev/null
done
JEFF_ID=$(key_id_of_pem jeff.pub)

# ---------------------------------------------------------------------------------------------
# Set-up (not timed)

# airlock_fleet HOME GUN...: new repositories made by airlock: pull, signer add jeff and ben
# (which initialises each), export, push.
airlock_fleet() {
  local home=$1
  shift
  # --jobs 1: the server makes each new GUN's snapshot and timestamp keys on first request,
  # and notary-server 0.7.0's local signer does that without a lock ("fatal error:
  # concurrent map writes" with several new GUNs at once). The timed pulls are of existing
  # repositories and keep airlock's default --jobs.
  quiet "$AIRLOCK" pull "$@" --jobs 1 --server "$NOTARY_URL" -o "$home.setup-pull.tar.zst"
  quiet "$AIRLOCK" --home "$home" import "$home.setup-pull.tar.zst"
  quiet "$AIRLOCK" --home "$home" signer add jeff "$@" --key jeff.pub
  quiet "$AIRLOCK" --home "$home" signer add ben "$@" --key ben.pub
  quiet "$AIRLOCK" --home "$home" export "$@" -o "$home.setup-response.tar.zst"
  quiet "$AIRLOCK" push "$home.setup-response.tar.zst" --server "$NOTARY_URL"
}

# notary_repo TRUST GUN: one repository made by the notary CLI, the same shape.
notary_repo() {
  local n=(notary -s "$NOTARY_URL" -d "$1") gun=$2
  {
    "${n[@]}" init "$gun" --publish
    "${n[@]}" key rotate "$gun" snapshot -r
    "${n[@]}" delegation add "$gun" targets/releases jeff.pub ben.pub --all-paths
    "${n[@]}" delegation add "$gun" targets/jeff jeff.pub --all-paths
    "${n[@]}" delegation add "$gun" targets/ben ben.pub --all-paths --publish
  } </dev/null >>"$1.setup.log" 2>&1 || {
    tail -n 20 "$1.setup.log" >&2
    fail "notary set-up of $gun"
  }
}
export -f notary_repo fail
export NOTARY_URL

# guns SIDE N: the N GUNs of one side and size.
guns() {
  local side=$1 n=$2 i
  for i in $(seq -w 1 "$n"); do echo "fleet.example.com/$side-$n/app-$i"; done
}

for n in $FLEET_SIZES; do
  step "set-up: $n repositories made by airlock"
  mapfile -t AG < <(guns air "$n")
  airlock_fleet "$WORK/home-$n" "${AG[@]}"

  step "set-up: $n repositories made by notary ($SETUP_JOBS at a time)"
  mapfile -t NG < <(guns ntr "$n")
  notary_repo "$WORK/trust-$n" "${NG[0]}" # makes the root key the others share
  printf '%s\n' "${NG[@]:1}" | xargs -r -P "$SETUP_JOBS" -I{} bash -c \
    'notary_repo "$0" "$1"' "$WORK/trust-$n" {}
done

# ---------------------------------------------------------------------------------------------
# 1. Offboarding jeff

for n in $FLEET_SIZES; do
  step "1. airlock offboards jeff from $n repositories"
  mapfile -t AG < <(guns air "$n")
  H=$WORK/home-$n
  measure "air-$n-pull" "$AIRLOCK" pull "${AG[@]}" --server "$NOTARY_URL" -o "off-$n.tar.zst"
  measure "air-$n-import" "$AIRLOCK" --home "$H" import "off-$n.tar.zst"
  measure "air-$n-remove" "$AIRLOCK" --home "$H" signer remove jeff "${AG[@]}" --yes
  measure "air-$n-export" "$AIRLOCK" --home "$H" export "${AG[@]}" -o "off-$n-r.tar.zst"
  measure "air-$n-push" "$AIRLOCK" push "off-$n-r.tar.zst" --server "$NOTARY_URL"
  total=0 rss=0
  for s in pull import remove export push; do
    total=$((total + USEC[air-$n-$s]))
    [ "${RSS[air-$n-$s]}" -gt "$rss" ] && rss=${RSS[air-$n-$s]}
  done
  USEC[air-$n]=$total RSS[air-$n]=$rss

  step "1. notary offboards jeff from $n repositories"
  mapfile -t NG < <(guns ntr "$n")
  N=(notary -s "$NOTARY_URL" -d "$WORK/trust-$n")
  : >"t/ntr-$n.time"
  t0=$(date +%s%N)
  for gun in "${NG[@]}"; do
    /usr/bin/time -v -a -o "t/ntr-$n.time" "${N[@]}" delegation remove "$gun" \
      targets/releases "$JEFF_ID" </dev/null >>"t/ntr-$n.log" 2>&1 || fail "notary: $gun"
    /usr/bin/time -v -a -o "t/ntr-$n.time" "${N[@]}" delegation remove -y --publish "$gun" \
      targets/jeff </dev/null >>"t/ntr-$n.log" 2>&1 || fail "notary: $gun"
  done
  t1=$(date +%s%N)
  USEC[ntr-$n]=$(((t1 - t0) / 1000))
  RSS[ntr-$n]=$(awk -F': ' '/Maximum resident set size/ {print $2}' "t/ntr-$n.time" |
    sort -n | tail -n 1)

  # both sides really removed jeff
  shows "^targets/ben " "${N[@]}" delegation list "${NG[0]}" </dev/null || fail "notary side"
  lacks "^targets/jeff " "${N[@]}" delegation list "${NG[-1]}" || fail "notary: jeff stays"
  lacks "^targets/jeff " notary -s "$NOTARY_URL" -d "$WORK/check-$n" delegation list \
    "${AG[-1]}" || fail "airlock: jeff stays"
done

# ---------------------------------------------------------------------------------------------
# 2. Witnessing a big targets/releases

step "2. a targets/releases of $WITNESS_TARGETS targets"
GUN=fleet.example.com/witness/app
airlock_fleet "$WORK/home-w" "$GUN"
quiet "$GEN" jeff.key "$WITNESS_TARGETS" 1 releases.json
RELEASES_BYTES=$(stat -c %s releases.json)
curl -sS --fail --noproxy '*' -o /dev/null -F "files=@releases.json;filename=targets/releases" \
  "$NOTARY_URL/v2/$GUN/_trust/tuf/" || fail "posting the big targets/releases"
AIRLOCK_IMPORT_PASSPHRASE=x quiet "$AIRLOCK" --home "$WORK/home-w" key load ben.key --name ben

measure air-w-pull "$AIRLOCK" pull "$GUN" --server "$NOTARY_URL" -o W.tar.zst
measure air-w-import "$AIRLOCK" --home "$WORK/home-w" import W.tar.zst
measure air-w-witness "$AIRLOCK" --home "$WORK/home-w" witness "$GUN" targets/releases
measure air-w-export "$AIRLOCK" --home "$WORK/home-w" export "$GUN" -o WR.tar.zst
lines_before=$(wc -l <"$NOTARY_DIR/server.log")
measure air-w-push "$AIRLOCK" push WR.tar.zst --server "$NOTARY_URL"
AIR_POST_LOG=$(tail -n +"$((lines_before + 1))" "$NOTARY_DIR/server.log")

step "2. notary witness -p"
NW=(notary -s "$NOTARY_URL" -d "$WORK/trust-w")
quiet "${NW[@]}" key import ben.key --role ben
lines_before=$(wc -l <"$NOTARY_DIR/server.log")
measure ntr-w "${NW[@]}" witness -p "$GUN" targets/releases
NTR_POST_LOG=$(tail -n +"$((lines_before + 1))" "$NOTARY_DIR/server.log")
shows "^v0.0.1-linux-amd64 " "${NW[@]}" list "$GUN" -r targets/releases ||
  fail "notary cannot read the witnessed role"

# The server's duration of the last update POST in its JSON request log (stdin), in
# microseconds: the "response completed" line's http.response.duration (Go's notation).
post_usec() {
  python3 -c '
import json, re, sys
last = None
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("http.request.method") == "POST" and "http.response.duration" in e:
        last = e["http.response.duration"]
units = {"h": 3.6e9, "m": 6e7, "s": 1e6, "ms": 1e3, "us": 1, "\u00b5s": 1, "ns": 1e-3}
print(round(sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)([a-z\u00b5]+)", last))))
'
}
AIR_POST=$(post_usec <<<"$AIR_POST_LOG")
NTR_POST=$(post_usec <<<"$NTR_POST_LOG")
[ -n "$AIR_POST" ] && [ -n "$NTR_POST" ] || fail "no POST duration in the server log"
NTR_CLIENT=$((USEC[ntr-w] - NTR_POST))

# ---------------------------------------------------------------------------------------------
# 3. Verifying a bundle offline against sha256 over the same bytes

step "3. verify W.tar.zst ($REPS runs each)"
zstd -q -d -f W.tar.zst -o W.tar
for i in $(seq "$REPS"); do
  measure "verify-dry-$i" "$AIRLOCK" --home "$WORK/vhome-$i" import --dry-run W.tar.zst
  measure "verify-import-$i" "$AIRLOCK" --home "$WORK/vhome-$i" import W.tar.zst
  measure "verify-inspect-$i" "$AIRLOCK" bundle inspect W.tar.zst
  measure "floor-sha-$i" sha256sum W.tar
  measure "floor-zstd-$i" sh -c 'zstd -q -d -c W.tar.zst | sha256sum'
  measure "floor-ossl-$i" openssl dgst -sha256 W.tar
done
for l in verify-dry verify-import verify-inspect floor-sha floor-zstd floor-ossl; do
  median "$l"
done

# ---------------------------------------------------------------------------------------------
# Report

# row CELL...: one Markdown table row.
row() { printf '|'; printf ' %s |' "$@"; echo; }

LARGEST=$RELEASES_BYTES
RSS_LIMIT_KIB=$(((2 * LARGEST) / 1024 + 64 * 1024))
sizes=($FLEET_SIZES)
lo=${sizes[0]} hi=${sizes[-1]}
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
versions="$(dpkg-query -W -f='notary ${Version}' notary 2>/dev/null)"
versions+=", airlock $(git -C "$ROOT" rev-parse --short HEAD)"
WE=$((USEC[air-w-witness] + USEC[air-w-export]))
{
  echo "## fleet.sh report"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $machine, $versions"
  echo
  echo "### 1. Offboarding one signer"
  echo
  row repositories "airlock pull" import "signer remove" export push "airlock total" \
    "notary loop" "notary / airlock" "airlock peak RSS" "notary peak RSS"
  row ---: ---: ---: ---: ---: ---: ---: ---: ---: ---: ---:
  for n in $FLEET_SIZES; do
    cells=("$n")
    for s in pull import remove export push; do cells+=("$(secs "${USEC[air-$n-$s]}") s"); done
    row "${cells[@]}" "**$(secs "${USEC[air-$n]}") s**" "**$(secs "${USEC[ntr-$n]}") s**" \
      "$(ratio "${USEC[ntr-$n]}" "${USEC[air-$n]}")x" "$(mib "${RSS[air-$n]}") MiB" \
      "$(mib "${RSS[ntr-$n]}") MiB"
  done
  if [ "$lo" != "$hi" ]; then
    air_slope=$(((USEC[air-$hi] - USEC[air-$lo]) / (hi - lo)))
    ntr_slope=$(((USEC[ntr-$hi] - USEC[ntr-$lo]) / (hi - lo)))
    echo
    echo "Cost per extra repository (slope $lo -> $hi): airlock $(ms "$air_slope") ms," \
      "notary $(ms "$ntr_slope") ms: $(ratio "$ntr_slope" "$air_slope")x cheaper" \
      "(target 10x). $hi-repository total: $(ratio "${USEC[ntr-$hi]}" "${USEC[air-$hi]}")x" \
      "faster (target 5x)."
  fi
  echo
  echo "### 2. Witnessing targets/releases with $WITNESS_TARGETS targets" \
    "($(mib $((RELEASES_BYTES / 1024))) MiB)"
  echo
  row step time "peak RSS"
  row --- ---: ---:
  for s in pull import witness export push; do
    row "airlock $s" "$(ms "${USEC[air-w-$s]}") ms" "$(mib "${RSS[air-w-$s]}") MiB"
  done
  row "airlock push: server's POST" "$(ms "$AIR_POST") ms" ""
  row "**airlock witness + export**" "**$(ms "$WE") ms**" ""
  row "notary witness -p, total" "$(ms "${USEC[ntr-w]}") ms" "$(mib "${RSS[ntr-w]}") MiB"
  row "notary: server's POST" "$(ms "$NTR_POST") ms" ""
  row "**notary client-side share**" "**$(ms "$NTR_CLIENT") ms**" ""
  echo
  echo "notary client-side share / airlock witness + export:" \
    "$(ratio "$NTR_CLIENT" "$WE")x (target 5x)."
  echo
  echo "### 3. Verifying the pull bundle offline (median of $REPS)"
  echo
  echo "Bundle $(mib $(($(stat -c %s W.tar.zst) / 1024))) MiB compressed," \
    "$(mib $(($(stat -c %s W.tar) / 1024))) MiB as tar."
  echo
  row what time "peak RSS"
  row --- ---: ---:
  for l in verify-dry verify-import verify-inspect floor-sha floor-zstd floor-ossl; do
    case $l in
      verify-dry) what="airlock import --dry-run (bundle, signatures, hashes; writes nothing)" ;;
      verify-import) what="airlock import (fresh home: bundle, signatures, hashes, state)" ;;
      verify-inspect) what="airlock bundle inspect (bundle digests only)" ;;
      floor-sha) what="floor: sha256sum of the tar" ;;
      floor-zstd) what="floor: zstd -d \\| sha256sum" ;;
      floor-ossl) what="floor: openssl dgst -sha256 of the tar (SHA extensions)" ;;
    esac
    row "$what" "$(ms "${USEC[$l]}") ms" "$(mib "${RSS[$l]}") MiB"
  done
  echo
  echo "import --dry-run / sha256 floor: $(ratio "${USEC[verify-dry]}" "${USEC[floor-sha]}")x," \
    "import --dry-run / (zstd + sha256): $(ratio "${USEC[verify-dry]}" "${USEC[floor-zstd]}")x" \
    "(target 3x). import, which also writes and fsyncs the state:" \
    "$(ratio "${USEC[verify-import]}" "${USEC[floor-sha]}")x and" \
    "$(ratio "${USEC[verify-import]}" "${USEC[floor-zstd]}")x. Against openssl's" \
    "sha256: import --dry-run $(ratio "${USEC[verify-dry]}" "${USEC[floor-ossl]}")x."
  echo
  echo "### 4. Peak RSS"
  echo
  runs="air-w-pull air-w-import air-w-witness air-w-export air-w-push verify-dry verify-import"
  peak=$(for l in $runs; do
    echo "${RSS[$l]}"
  done | sort -n | tail -n 1)
  echo "Largest metadata file $(mib $((LARGEST / 1024))) MiB; limit 2x that + 64 MiB =" \
    "$(mib "$RSS_LIMIT_KIB") MiB. Largest airlock peak in the witness and verify runs:" \
    "$(mib "$peak") MiB (target: below the limit)."
} | tee "$OUT"
