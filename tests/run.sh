#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, unit and integration tests (with and
# without the online feature), the offline build's dependency check, and the end-to-end
# round trip and https checks against a real notary-server. Installs the Debian `notary`
# package when it is missing; never skips a test because a tool is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n##### %s\n' "$*"; }

ensure_notary() {
  command -v notary-server >/dev/null && command -v notary >/dev/null && return 0
  section "installing the notary package"
  if [ "$(id -u)" != 0 ]; then
    echo "tests/run.sh: notary-server is missing and this is not root; install it with" \
      "'apt-get install -y notary'" >&2
    exit 1
  fi
  apt-get install -y notary >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y notary >/dev/null; }
  command -v notary-server >/dev/null || { echo "tests/run.sh: installing notary failed" >&2; exit 1; }
}

ensure_notary
ensure_faketime() {
  command -v faketime >/dev/null && return 0
  section "installing faketime"
  apt-get install -y faketime >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y faketime >/dev/null; }
  command -v faketime >/dev/null || { echo "tests/run.sh: installing faketime failed" >&2; exit 1; }
}
ensure_faketime

# The docker CLI, for `docker trust` in the differential test (no engine needed). Debian
# bookworm ships it in docker.io; newer releases also have a CLI-only docker-cli.
ensure_docker() {
  command -v docker >/dev/null && return 0
  section "installing the docker CLI"
  if [ "$(id -u)" != 0 ]; then
    echo "tests/run.sh: docker is missing and this is not root; install it with" \
      "'apt-get install -y docker.io' (or docker-cli)" >&2
    exit 1
  fi
  local pkg=docker.io
  apt-cache policy docker-cli 2>/dev/null | grep -q 'Candidate: [0-9]' && pkg=docker-cli
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >/dev/null 2>&1 ||
    { apt-get update >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >/dev/null; }
  command -v docker >/dev/null || { echo "tests/run.sh: installing $pkg failed" >&2; exit 1; }
}
ensure_docker

section "cargo fmt --check"
cargo fmt --all -- --check

section "cargo clippy (default and offline builds)"
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --no-default-features -- -D warnings

LOG=$(mktemp); trap 'rm -f "$LOG"' EXIT
section "cargo test (offline build)"
cargo test --no-default-features 2>&1 | tee -a "$LOG"

section "the offline binary has no pull or push"
cargo build --quiet --no-default-features
rc=0; target/debug/airlock pull example.com/x -o /dev/null 2>"$LOG.err" || rc=$?
[ "$rc" = 2 ] && grep -q "offline build" "$LOG.err" || { cat "$LOG.err"; echo "offline pull: rc $rc" >&2; exit 1; }
rm -f "$LOG.err"

section "cargo test (with the online feature, real notary-server)"
cargo test 2>&1 | tee -a "$LOG"

section "end to end: the sneakernet round trip"
cargo build --quiet
tests/e2e/roundtrip.sh target/debug/airlock

section "end to end: the delegation guide's operations"
tests/e2e/delegations.sh target/debug/airlock

section "end to end: pull, push and delete over https with --tlscacert, RSA and key removal"
tests/e2e/online_tls.sh target/debug/airlock

section "end to end: the delegation guide with the real tools and with airlock, outputs compared"
tests/e2e/differential.sh target/debug/airlock

section "end to end: key rotations, renewal and expiry, judged by the real notary client"
tests/e2e/lifecycle.sh target/debug/airlock

section "end to end: a 2-of-3 root held by three custodians' homes"
tests/e2e/custodians.sh target/debug/airlock

section "end to end: the scripted ceremonies, with their audit logs and transcripts"
tests/e2e/ceremonies.sh target/debug/airlock

section "end to end: a fleet of repositories in one ceremony (--all, --jobs)"
tests/e2e/fleet.sh target/debug/airlock

section "quickstart on the shipped example bundle"
ceremony-scripts/quickstart.sh target/debug/airlock

section "quickstart a year from now (the example's timestamp has expired by then)"
AIRLOCK_SCRYPT_WORK_FACTOR=12 faketime '+365 days' ceremony-scripts/quickstart.sh target/debug/airlock

section "fuzzing: each cargo-fuzz target for 20 s (optional; says why when it cannot run)"
fuzz/run.sh 20

passed=$(grep -Eo '^test result: ok\. [0-9]+ passed' "$LOG" | awk '{s += $4} END {print s + 7}')
echo
echo "tests/run.sh: ${passed} passed, 0 failed"
