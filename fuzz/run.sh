#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time: fuzz/run.sh [SECONDS_PER_TARGET] (default 20).
#
# Fuzzing needs cargo-fuzz and a compiler that accepts -Z flags (a nightly toolchain, or the
# stable one with RUSTC_BOOTSTRAP=1). Without them this prints why fuzzing was not run and
# exits 0: it is the one optional part of tests/run.sh. A crash, a build failure or a
# property violation exits 1, with the input that caused it.
#
# New corpus entries go to a scratch directory, never into fuzz/corpus/ (the seeds in git).
# Crashes are kept in fuzz/artifacts/<target>/ (git-ignored). The build goes to
# AIRLOCK_FUZZ_TARGET_DIR (default ~/.cache/airlock/fuzz-target), shared by every checkout on
# the machine, so a fresh clone compiles only airlock itself.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET=${1:-20}
TARGETS=(bundle_reader metadata key_import)

not_run() {
  echo "fuzz/run.sh: FUZZING NOT RUN: $*"
  exit 0
}

if ! cargo fuzz --version >/dev/null 2>&1; then
  not_run "cargo-fuzz is not installed ('cargo install cargo-fuzz' installs it from crates.io)"
fi

# Which compiler accepts the -Z flags cargo-fuzz passes (-Zsanitizer=address among them)?
probe_dir=$(mktemp -d)
scratch=$(mktemp -d)
trap 'rm -rf "$probe_dir" "$scratch"' EXIT
echo 'fn main() {}' >"$probe_dir/p.rs"
accepts_z() { "$@" -Zsanitizer=address -o "$probe_dir/p" "$probe_dir/p.rs" >/dev/null 2>&1; }
toolchain=()
if accepts_z rustc +nightly; then
  toolchain=(cargo +nightly)
  how="the nightly toolchain"
elif accepts_z env RUSTC_BOOTSTRAP=1 rustc; then
  toolchain=(env RUSTC_BOOTSTRAP=1 cargo)
  how="the default toolchain with RUSTC_BOOTSTRAP=1"
else
  not_run "no nightly toolchain, and the default rustc refuses -Zsanitizer even with RUSTC_BOOTSTRAP=1"
fi

target_dir=${AIRLOCK_FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/airlock/fuzz-target}
mkdir -p "$target_dir"
echo "fuzz/run.sh: building the fuzz targets with $how (cargo-fuzz $(cargo fuzz --version | awk '{print $2}'))"
start=$(date +%s)
if ! "${toolchain[@]}" fuzz build --target-dir "$target_dir" >"$scratch/build.log" 2>&1; then
  tail -n 40 "$scratch/build.log"
  echo "fuzz/run.sh: building the fuzz targets FAILED" >&2
  exit 1
fi
echo "fuzz/run.sh: built in $(($(date +%s) - start)) s"

# The bundle target writes its scratch bundle under TMPDIR; keep that inside our scratch.
export TMPDIR=$scratch
failed=0
for t in "${TARGETS[@]}"; do
  mkdir -p "$scratch/corpus-$t"
  log=$scratch/$t.log
  rc=0
  t0=$(date +%s)
  "${toolchain[@]}" fuzz run --target-dir "$target_dir" "$t" "$scratch/corpus-$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=60 -rss_limit_mb=2048 -print_final_stats=0 \
    >"$log" 2>&1 || rc=$?
  if [ "$rc" = 0 ] && grep -q '^#[0-9]*[[:space:]]*DONE' "$log"; then
    done_line=$(grep '^#[0-9]*[[:space:]]*DONE' "$log" | tail -n 1 | tr -s ' \t' ' ')
    echo "fuzz/run.sh: $t: ok in $(($(date +%s) - t0)) s: $done_line"
    continue
  fi
  failed=1
  echo "fuzz/run.sh: $t: FAILED (exit $rc)" >&2
  # The panic message and sanitizer report first, then how libFuzzer ended.
  grep -E -A4 "panicked at|==[0-9]+==ERROR|^SUMMARY:|timeout after|out-of-memory" "$log" | head -n 40 >&2
  grep -v '^#[0-9]' "$log" | grep -v '^ *#[0-9]* 0x' | tail -n 25 >&2
  unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  if [ -n "$unit" ] && [ -f "$unit" ]; then
    echo "fuzz/run.sh: $t: reproduce with: (cd fuzz && ${toolchain[*]} fuzz run $t $unit)" >&2
    echo "fuzz/run.sh: $t: input (base64): $(base64 -w0 "$unit" | head -c 4000)" >&2
  fi
done
[ "$failed" = 0 ] || { echo "fuzz/run.sh: a fuzz target failed" >&2; exit 1; }
echo "fuzz/run.sh: ${#TARGETS[@]} targets fuzzed for ${SECONDS_PER_TARGET} s each, no crash"
