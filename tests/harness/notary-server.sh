#!/usr/bin/env bash
# notary-server.sh: a throwaway notary-server on loopback for tests.
#
#   eval "$(tests/harness/notary-server.sh start [--tls] [--dir DIR])"
#   ...                          # NOTARY_URL, NOTARY_PID, NOTARY_DIR, NOTARY_CA are now set
#   tests/harness/notary-server.sh stop "$NOTARY_DIR"
#
# The server uses memory storage and the local signer, listens on a free port of 127.0.0.1
# and logs to DIR/server.log. stdout carries only the export line; progress goes to stderr.
# `stop` kills only the PID recorded in DIR/server.pid, and only if it is a notary-server.
set -euo pipefail

# How long `start` waits for GET /v2/ to answer 200, in tenths of a second.
READY_TENTHS=100
# How many ports to try when another process takes the one picked.
PORT_ATTEMPTS=5

say() { echo "notary-server.sh: $*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  echo "usage: $0 start [--tls] [--dir DIR] | stop DIR" >&2
  exit 2
}

# Installs the Debian package when the server is missing. Tests must never skip silently,
# so anything but a working binary is a loud failure.
ensure_server() {
  command -v notary-server >/dev/null && return 0
  [ "$(id -u)" = 0 ] || die "notary-server not found; install the Debian package 'notary'"
  say "notary-server not found; installing the Debian package 'notary'"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y notary >&2; then
    apt-get update >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y notary >&2 || die "cannot install notary"
  fi
  command -v notary-server >/dev/null || die "notary-server still missing after install"
}

# Prints a port that 127.0.0.1 could bind a moment ago. Another process may still take it
# before the server binds, which is why start_server retries.
free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
    return
  fi
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 30000))
    # A refused connection means nothing listens there.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "found no free port on 127.0.0.1"
}

# Makes a throwaway CA and a server certificate for 127.0.0.1 and localhost in DIR/tls.
make_tls() {
  local tls=$1/tls
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -sha256 \
    -subj "/CN=airlock test CA" -keyout "$tls/ca.key" -out "$tls/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>>"$1/openssl.log"

  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr" \
    2>>"$1/openssl.log"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
    "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 2 -sha256 -extfile "$tls/server.ext" -out "$tls/server.crt" \
    2>>"$1/openssl.log"
}

write_config() {
  local dir=$1 port=$2 tls=$3 tls_json=""
  if [ "$tls" = 1 ]; then
    tls_json=", \"tls_cert_file\": \"$dir/tls/server.crt\""
    tls_json+=", \"tls_key_file\": \"$dir/tls/server.key\""
  fi
  cat >"$dir/server.json" <<JSON
{
  "server": {"http_addr": "127.0.0.1:$port"$tls_json},
  "trust_service": {"type": "local"},
  "storage": {"backend": "memory"},
  "logging": {"level": "info"}
}
JSON
}

# True while PID is a live (not zombie) notary-server. In containers PID 1 may reap late, so
# a zombie must count as dead. Right after `&` the child can still be the forked shell that
# is about to exec notary-server (seen on a loaded machine), which counts as alive too.
server_alive() {
  local pid=$1 state comm
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [ "$comm" = notary-server ] || [ "$comm" = bash ] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$state" != Z ]
}

# Polls GET /v2/ until it answers 200. Returns 1 if the server died (maybe a port clash),
# 2 on timeout.
wait_ready() {
  local dir=$1 url=$2 pid=$3 code
  local curl_args=(-sS -o /dev/null -w '%{http_code}' --max-time 2 --noproxy '*')
  [ -f "$dir/tls/ca.crt" ] && curl_args+=(--cacert "$dir/tls/ca.crt")
  for _ in $(seq "$READY_TENTHS"); do
    server_alive "$pid" || return 1
    code=$(curl "${curl_args[@]}" "$url/v2/" 2>>"$dir/probe.log") || code=""
    [ "$code" = 200 ] && return 0
    sleep 0.1
  done
  return 2
}

# Starts the server on a fresh port, retrying when the port was taken in the meantime.
start_server() {
  local dir=$1 tls=$2 scheme=http port pid rc
  [ "$tls" = 1 ] && scheme=https
  for attempt in $(seq "$PORT_ATTEMPTS"); do
    port=$(free_port)
    write_config "$dir" "$port" "$tls"
    notary-server -config "$dir/server.json" >>"$dir/server.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/server.pid"

    rc=0
    wait_ready "$dir" "$scheme://127.0.0.1:$port" "$pid" || rc=$?
    if [ "$rc" = 0 ]; then
      URL="$scheme://127.0.0.1:$port"
      PID=$pid
      return 0
    fi
    stop_server "$dir" >/dev/null 2>&1 || true
    if [ "$rc" = 2 ] || ! grep -q 'address already in use' "$dir/server.log"; then
      say "notary-server did not become ready (attempt $attempt, port $port); log tail:"
      tail -n 20 "$dir/server.log" >&2
      exit 1
    fi
    say "port $port was taken, retrying"
  done
  die "no free port after $PORT_ATTEMPTS attempts"
}

cmd_start() {
  local tls=0 dir=""
  while [ $# -gt 0 ]; do
    case $1 in
      --tls) tls=1; shift ;;
      --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
      *) usage ;;
    esac
  done

  ensure_server
  if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/airlock-notary.XXXXXX")
  else
    mkdir -p "$dir"
  fi
  dir=$(cd "$dir" && pwd)
  [ ! -e "$dir/server.pid" ] || die "$dir already holds a server; stop it first"
  [ "$tls" = 1 ] && make_tls "$dir"

  start_server "$dir" "$tls"
  local ca=""
  [ "$tls" = 1 ] && ca="$dir/tls/ca.crt"
  printf 'export NOTARY_URL=%q NOTARY_PID=%q NOTARY_DIR=%q NOTARY_CA=%q\n' \
    "$URL" "$PID" "$dir" "$ca" | tee "$dir/env.sh"
}

# Stops the recorded server: TERM, up to 3 s grace, then KILL. Never kills anything that
# is not a notary-server, in case the PID was reused.
stop_server() {
  local dir=$1 pid
  [ -f "$dir/server.pid" ] || { say "no server.pid in $dir"; return 0; }
  pid=$(cat "$dir/server.pid")
  [[ $pid =~ ^[0-9]+$ ]] || die "bad PID in $dir/server.pid"
  if server_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 30); do
      server_alive "$pid" || break
      sleep 0.1
    done
    server_alive "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$dir/server.pid"
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  stop) [ $# = 2 ] || usage; stop_server "$2" ;;
  *) usage ;;
esac
