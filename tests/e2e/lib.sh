# Helpers for the end-to-end scripts. Sourced, not run.

# e2e_start NAME [harness options]: a work dir that is removed on exit, and a notary-server
# on a free loopback port inside it (NOTARY_URL, NOTARY_CA, ... exported). Needs ROOT.
e2e_start() {
  local name=$1
  shift
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/airlock-$name.XXXXXX")
  trap '"$ROOT/tests/harness/notary-server.sh" stop "$WORK/server" >/dev/null 2>&1 || true
        rm -rf "$WORK"' EXIT
  eval "$("$ROOT/tests/harness/notary-server.sh" start "$@" --dir "$WORK/server")"
}

# Test passphrases for airlock and notary, and a cheap scrypt (tests only).
test_passphrases() {
  export AIRLOCK_SCRYPT_WORK_FACTOR=12
  export AIRLOCK_ROOT_PASSPHRASE=root-pass-e2e AIRLOCK_TARGETS_PASSPHRASE=targets-pass-e2e
  export AIRLOCK_DELEGATION_PASSPHRASE=deleg-pass-e2e
  export NOTARY_ROOT_PASSPHRASE=x NOTARY_TARGETS_PASSPHRASE=x NOTARY_SNAPSHOT_PASSPHRASE=x
  export NOTARY_DELEGATION_PASSPHRASE=jeff-notary-pass
}

step() { printf '\n=== %s\n' "$*" >&2; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# Runs a command without network access when the system allows a new network namespace,
# so the offline signer is shown to need none.
offline() {
  if unshare -rn true 2>/dev/null; then
    unshare -rn "$@"
  else
    "$@"
  fi
}

# Notary's key ID of a PUBLIC KEY PEM: sha256 of {"keytype":TYPE,"keyval":{...}}, where
# TYPE is the second argument (ecdsa when not given; rsa for RSA keys).
key_id_of_pem() {
  python3 - "$1" "${2:-ecdsa}" <<'PY'
import base64, hashlib, sys
body = "".join(l for l in open(sys.argv[1]) if not l.startswith("-----") and ":" not in l)
b64 = base64.b64encode(base64.b64decode(body)).decode()
obj = '{"keytype":"%s","keyval":{"private":null,"public":"%s"}}' % (sys.argv[2], b64)
print(hashlib.sha256(obj.encode()).hexdigest())
PY
}

# A digest of every file in a directory tree (names, modes and contents), except the lock
# and the audit log, which records failures too (checked by expect_fail).
tree_digest() {
  (cd "$1" && find . -type f ! -name lock ! -path ./audit/log.jsonl -printf '%p %m\n' \
    -exec sha256sum {} \; | sort | sha256sum)
}

audit_lines() { cat "$1/audit/log.jsonl" 2>/dev/null | wc -l; }

# expect_fail CODE PATTERN CMD...: CMD must exit with CODE and say PATTERN on stderr, and the
# offline home must be byte-for-byte unchanged.
expect_fail() {
  local code=$1 pattern=$2; shift 2
  local before after rc=0 logged
  before=$(tree_digest "$OFFLINE_HOME")
  logged=$(audit_lines "$OFFLINE_HOME")
  "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" </dev/null || rc=$?
  after=$(tree_digest "$OFFLINE_HOME")
  if [ "$(audit_lines "$OFFLINE_HOME")" != "$logged" ]; then
    tail -n 1 "$OFFLINE_HOME/audit/log.jsonl" | grep -Eq '"outcome":"(refused|failed)"' ||
      fail "the audit log recorded a failing command as a success: $*"
  fi
  [ "$rc" = "$code" ] || { cat "$WORK/err.txt" >&2; fail "exit $rc, expected $code: $*"; }
  grep -q -- "$pattern" "$WORK/err.txt" || { cat "$WORK/err.txt" >&2; fail "no '$pattern': $*"; }
  [ "$before" = "$after" ] || fail "home changed by failing command: $*"
  printf 'ok: exit %s, "%s": %s\n' "$code" "$(head -c 160 "$WORK/err.txt")" "$*" >&2
}

bad_input_checks() {
  local A=("$AIRLOCK" --home "$OFFLINE_HOME")
  expect_fail 2 "missing.tar.zst" "${A[@]}" import "$WORK/missing.tar.zst"
  head -c 300 "$WORK/C.tar.zst" > "$WORK/truncated.tar.zst"
  expect_fail 1 "truncated.tar.zst\|bundle" "${A[@]}" import "$WORK/truncated.tar.zst"
  printf 'not a bundle' > "$WORK/garbage.tar.zst"
  expect_fail 1 "bundle\|zstd" "${A[@]}" import "$WORK/garbage.tar.zst"
  expect_fail 1 "response bundle" "${A[@]}" import "$WORK/B.tar.zst"
  expect_fail 2 "not in this home" "${A[@]}" signer add jeff example.com/other/app --key "$WORK/jeff.pub"
  expect_fail 1 "GUN" "${A[@]}" signer add jeff "../../etc" --key "$WORK/jeff.pub"
  expect_fail 2 "missing.pub" "${A[@]}" signer add jeff "$GUN" --key "$WORK/missing.pub"
  expect_fail 1 "PUBLIC KEY\|key" "${A[@]}" signer add jeff "$GUN" --key "$WORK/jeff.key"
  expect_fail 1 "nothing to export" "${A[@]}" export "$GUN" -o "$WORK/D.tar.zst"
  [ ! -e "$WORK/D.tar.zst" ] || fail "export with nothing to do wrote a bundle"

  expect_fail 1 "role name\|signer" "${A[@]}" key generate "bad/name" --dir "$WORK"
  expect_fail 2 "already exists" "${A[@]}" key generate ben --dir "$WORK"
  expect_fail 2 "No such file" "${A[@]}" key generate dave --dir "$WORK/no/such/dir"
  expect_fail 1 "reserved" "${A[@]}" key generate releases --dir "$WORK"
  expect_fail 2 "given twice" "${A[@]}" signer add zed "$GUN" "$GUN" --key "$WORK/jeff.pub"
  expect_fail 2 "not a key ID" "${A[@]}" import --root-keyid nope "$WORK/C.tar.zst"
  expect_fail 1 "pinned root key" "${A[@]}" import --root-keyid "$(printf '0%.0s' {1..64})" "$WORK/C.tar.zst"
  expect_fail 2 "not an airlock home" "$AIRLOCK" --home "$WORK/typo-home" status
  [ ! -e "$WORK/typo-home" ] || fail "status created a home"
  "$AIRLOCK" --home "$WORK/fresh-home" import "$WORK/garbage.tar.zst" 2>/dev/null && fail "garbage imported"
  [ ! -e "$WORK/fresh-home" ] || fail "a failed first import left a home behind"
  expect_fail 1 "no PEM block\|private key" "${A[@]}" key load "$WORK/garbage.tar.zst" --name x
  expect_fail 1 "bundle" "${A[@]}" bundle inspect "$WORK/garbage.tar.zst"
  expect_fail 1 "pull bundle" "${A[@]}" push "$WORK/A.tar.zst" --server "$NOTARY_URL"
  expect_fail 2 "already exists" "${A[@]}" pull "$GUN" --server "$NOTARY_URL" -o "$WORK/A.tar.zst"
  expect_fail 2 "127.0.0.1:9" "${A[@]}" pull "$GUN" --server http://127.0.0.1:9 -o "$WORK/F.tar.zst"
  expect_fail 2 "https needs --tlscacert" "${A[@]}" pull "$GUN" --server https://127.0.0.1:9 -o "$WORK/F.tar.zst"

  expect_fail 2 "Pass --yes" "${A[@]}" forget "$GUN"

  # A wrong passphrase: stage a change (which needs none), then export with a wrong one.
  "${A[@]}" signer add carol "$GUN" --key "$WORK/jeff.pub" 2>/dev/null
  expect_fail 1 "wrong passphrase" env AIRLOCK_TARGETS_PASSPHRASE=wrong "${A[@]}" export "$GUN" -o "$WORK/E.tar.zst"
  [ ! -e "$WORK/E.tar.zst" ] || fail "export with a wrong passphrase wrote a bundle"
}

# shows PATTERN CMD...: CMD succeeds and its output has a line matching PATTERN. (Not
# `CMD | grep -q`: under pipefail, grep quitting early can fail the pipeline.)
shows() {
  local pattern=$1; shift
  "$@" >"$WORK/shows.out" 2>&1 </dev/null || { cat "$WORK/shows.out" >&2; return 1; }
  grep -q -- "$pattern" "$WORK/shows.out"
}

# lacks PATTERN CMD...: CMD succeeds and no line of its output matches PATTERN.
lacks() {
  local pattern=$1; shift
  "$@" >"$WORK/lacks.out" 2>&1 </dev/null || { cat "$WORK/lacks.out" >&2; fail "exit: $*"; }
  ! grep -q -- "$pattern" "$WORK/lacks.out"
}

# quiet CMD...: runs CMD with its output kept in $WORK/quiet.log; on failure prints that
# output and the command, then fails.
quiet() {
  local rc=0
  "$@" >"$WORK/quiet.log" 2>&1 </dev/null || rc=$?
  [ "$rc" = 0 ] || { cat "$WORK/quiet.log" >&2; fail "exit $rc: $*"; }
}

# capture FILE CMD...: records CMD's stdout, then its stderr (if any) after a
# "--- stderr ---" line, then "--- rc=N ---", in FILE. Never fails itself.
capture() {
  local file=$1 rc=0; shift
  "$@" >"$file.stdout" 2>"$file.stderr" </dev/null || rc=$?
  {
    cat "$file.stdout"
    [ -s "$file.stderr" ] && { echo "--- stderr ---"; cat "$file.stderr"; }
    echo "--- rc=$rc ---"
  } >"$file"
}
