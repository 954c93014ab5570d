# Shared by the ceremony scripts: options, the checklist, step confirmation and the
# transcript. Sourced, not run.
#
# Every script takes, before its own arguments:
#   --yes               do not stop for confirmation at each step (scripted ceremonies)
#   --airlock PATH      the airlock binary (default: airlock on PATH, else target/debug)
#   --transcript FILE   where the ceremony report goes (default: ceremony-<name>-<time>.md)
# and uses the home in AIRLOCK_HOME (or --home via AIRLOCK_HOME). Passphrases are asked at
# the terminal, or come from AIRLOCK_*_PASSPHRASE for unattended runs.
set -euo pipefail

CEREMONY_YES=0
CEREMONY_TRANSCRIPT=
AIRLOCK=

ceremony_options() {
  CEREMONY_ARGS=()
  while [ $# -gt 0 ]; do
    case $1 in
      --yes) CEREMONY_YES=1 ;;
      --airlock|--transcript)
        [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
        if [ "$1" = --airlock ]; then AIRLOCK=$2; else CEREMONY_TRANSCRIPT=$2; fi
        shift ;;
      --help|-h) usage; exit 0 ;;
      *) CEREMONY_ARGS+=("$1") ;;
    esac
    shift
  done
  if [ -z "$AIRLOCK" ]; then
    AIRLOCK=$(command -v airlock || echo "$(dirname "$0")/../target/debug/airlock")
  fi
  [ -x "$AIRLOCK" ] || { echo "airlock binary not found: give --airlock PATH" >&2; exit 2; }
  [ -n "${AIRLOCK_HOME:-}" ] || { echo "set AIRLOCK_HOME to the offline home" >&2; exit 2; }
  if [ -n "$CEREMONY_TRANSCRIPT" ] && [ -e "$CEREMONY_TRANSCRIPT" ]; then
    echo "$CEREMONY_TRANSCRIPT already exists; give another --transcript" >&2
    exit 2
  fi
  CEREMONY_START=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
}

# need_files FILE...: every input exists, checked before the ceremony starts.
need_files() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || { echo "$f: no such file; nothing was done" >&2; exit 2; }
  done
}

# usage: the script's header comment, from its second line to the first line of code.
usage() {
  awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"
}

# checklist NAME LINE...: the roles present and the steps, printed before anything runs.
checklist() {
  local name=$1; shift
  CEREMONY_NAME=$name
  printf '\n\033[1m%s\033[0m\n' "Ceremony: $name" >&2
  printf '  home: %s\n' "$AIRLOCK_HOME" >&2
  printf '  %s\n' "$@" >&2
  confirm "Everyone present and the checklist read?"
}

# step TEXT: announces a step and waits for the operator unless --yes.
step() {
  printf '\n\033[1m== %s\033[0m\n' "$*" >&2
}

confirm() {
  [ "$CEREMONY_YES" = 1 ] && return 0
  local answer
  read -r -p "$1 [y/N] " answer </dev/tty
  case $answer in y|Y|yes) return 0 ;; *) echo "stopped; nothing more was done" >&2; exit 1 ;; esac
}

# compare_digest BUNDLE: shows the digest as words, for the people on both sides of the gap.
compare_digest() {
  "$AIRLOCK" bundle inspect "$1" >&2
  confirm "Does the digest (words) match what the other side reads out?"
}

# finish: verifies the audit log and writes this ceremony's transcript.
finish() {
  step "Verify the audit log and write the transcript"
  "$AIRLOCK" audit verify
  local out=${CEREMONY_TRANSCRIPT:-ceremony-$CEREMONY_NAME-$(date -u +%Y%m%dT%H%M%SZ).md}
  "$AIRLOCK" audit report --format md --since "$CEREMONY_START" -o "$out"
  echo "Transcript: $out" >&2
}
