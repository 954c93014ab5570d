#!/usr/bin/env bash
# The periodic renewal, offline: every role (and root certificate) this home can sign that
# expires within the window is re-signed, one version step each.
# Usage: renew.sh [--yes] [--airlock P] [--transcript F] PULL RESPONSE [--within DAYS] GUN...
# Then, online: airlock push RESPONSE --server URL.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
ceremony_options "$@"
set -- "${CEREMONY_ARGS[@]}"
[ $# -ge 3 ] || { usage >&2; exit 2; }
PULL=$1 RESPONSE=$2; shift 2
need_files "$PULL"
WITHIN=90
if [ "${1:-}" = --within ]; then WITHIN=$2; shift 2; fi
[ $# -ge 1 ] || { usage >&2; exit 2; }

checklist renew \
  "Present: the operator, a witness, the key holders for what is due." \
  "1. Compare the pull bundle's digest with the online side; import it." \
  "2. Review the expiry calendar (window: $WITHIN days)." \
  "3. Renew what is due in: $*." \
  "4. Export; read the response digest to the online side." \
  "5. Verify the audit log; file the transcript."

step "1. Import the pull bundle"
compare_digest "$PULL"
"$AIRLOCK" import "$PULL"
step "2. The calendar"
"$AIRLOCK" expiry "$@" --within "$WITHIN" >&2 || true
step "3. Renew"
"$AIRLOCK" renew "$@" --within "$WITHIN"
step "4. Sign and export"
"$AIRLOCK" export "$@" -o "$RESPONSE"
compare_digest "$RESPONSE"
finish
