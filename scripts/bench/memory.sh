#!/usr/bin/env bash
# What an open connection costs skewless in memory: starts the server on
# loopback with fixture build v1, opens CONNS connections that each send one
# request and stay open, and prints the growth of the server's VmRSS per
# connection, for idle keep-alive connections and for event streams, with
# a small request head and with a COOKIE-byte cookie in it.
#
#   scripts/bench/memory.sh                 # CONNS=5000 COOKIE=5000
#   BASE=/path/to/other/checkout scripts/bench/memory.sh
#
# With BASE, the same is measured for a server built from that checkout
# too (before/after a change), each server in its own fresh process.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONNS=${CONNS:-5000}
COOKIE=${COOKIE:-5000}

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((CONNS + 1024)) ] ||
	{ echo "memory: need $((CONNS + 1024)) open files, the limit is $(ulimit -n)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/skewless-memory.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

timeout 300 go build -o "$work/this" ./server
[ -z "${BASE:-}" ] || (cd "$BASE" && timeout 300 go build -o "$work/base" ./server)
timeout 300 go build -o "$work/conns" ./scripts/bench/conns
mkdir -p "$work/builds"
cp -a fixtures/builds/v1 "$work/builds/v1"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

measure() { # BINARY MODE COOKIE
	"$work/$1" serve --builds "$work/builds" --addr "127.0.0.1:$port" --metrics-addr "" \
		--max-sse $((CONNS + 100)) --log-level warn 2>"$work/server.log" &
	pid=$!
	for _ in $(seq 100); do curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/_skewless/health" 2>/dev/null && break; sleep 0.1; done
	printf '%-5s ' "$1"
	"$work/conns" -addr "127.0.0.1:$port" -pid "$pid" -conns "$CONNS" -mode "$2" -cookie "$3" || true
	kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}

for mode in idle stream; do
	for cookie in 0 "$COOKIE"; do
		[ -z "${BASE:-}" ] || measure base "$mode" "$cookie"
		measure this "$mode" "$cookie"
	done
done
