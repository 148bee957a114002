#!/usr/bin/env bash
# Fan-out benchmark: opens STREAMS event streams to a skewless on loopback,
# deploys ROUNDS times and reports how long until every stream has the new
# version (target: 250 ms from the server's activation) and the server's
# RSS per open stream (target: 20 KiB). Everything runs in a scratch folder,
# on 127.0.0.1 only, and is bounded in time; the server is stopped at the end.
#
#   STREAMS=10000 ROUNDS=3 scripts/fanout.sh
#
# Environment: STREAMS (10000), ROUNDS (3: v2 and v3 dropped into the builds
# folder, then `skewless activate` v1, v2, ...), DEADLINE (client's budget in
# seconds, 120), STRICT=1 (exit 1 when a target is missed), KEEP=1 (keep the
# scratch folder and the server log), SRC (the module to build the server
# from, default this one: to compare a server change before it lands),
# NICE (e.g. -10: run the server and the client ahead of background work on
# a shared machine; the numbers then say what the server can do, not what
# the machine had left).
set -euo pipefail
cd "$(dirname "$0")/.."

streams=${STREAMS:-10000}
rounds=${ROUNDS:-3}
deadline=${DEADLINE:-120}
max_sse=$((streams + 1000 > 20000 ? streams + 1000 : 20000))

command -v curl >/dev/null || { echo "fanout: needs curl" >&2; exit 2; }

# Each side holds one descriptor per stream; both inherit this limit.
need=$((streams + 1024))
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
	echo "fanout: need $need open files for $streams streams, the limit is $(ulimit -n) (hard $(ulimit -Hn)); raise it as root or lower STREAMS" >&2
	exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/skewless-fanout.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	if [ "${KEEP:-}" = 1 ]; then
		echo "fanout: kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

(cd "${SRC:-.}" && timeout 300 go build -o "$work/skewless" ./server)
timeout 300 go build -o "$work/fanout" ./scripts/fanout
mkdir -p "$work/builds"
cp -a fixtures/builds/v1 "$work/builds/v1"

nice=()
if [ -n "${NICE:-}" ]; then
	nice=(nice -n "$NICE")
fi

read -r port mport < <("$work/fanout" -free-ports 2)
"${nice[@]}" "$work/skewless" serve --builds "$work/builds" --addr "127.0.0.1:$port" \
	--metrics-addr "127.0.0.1:$mport" --max-sse "$max_sse" --log-level warn \
	--log-format console 2>"$work/server.log" &
pid=$!

for _ in $(seq 100); do # 10 s
	if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/_skewless/health" 2>/dev/null; then
		break
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "fanout: the server exited at start:" >&2
		cat "$work/server.log" >&2
		exit 1
	fi
	sleep 0.1
done
curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/_skewless/health" ||
	{ echo "fanout: the server is not healthy after 10 s" >&2; exit 1; }
sleep 2 # let the server go idle before the baseline reading

echo "fanout: $streams streams, $rounds deploys${NICE:+, nice $NICE}; server pid $pid on 127.0.0.1:$port; $(uptime)"
rc=0
timeout --kill-after=5 $((deadline + 30)) "${nice[@]}" "$work/fanout" -addr "127.0.0.1:$port" \
	-metrics "127.0.0.1:$mport" -pid "$pid" -builds "$work/builds" -fixtures fixtures/builds \
	-bin "$work/skewless" -streams "$streams" -rounds "$rounds" -deadline "${deadline}s" \
	-strict="$([ "${STRICT:-}" = 1 ] && echo true || echo false)" || rc=$?
echo "fanout: done; $(uptime)"

# Stop the server and check that it exits by itself.
kill -TERM "$pid"
for _ in $(seq 100); do # 10 s
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	echo "fanout: the server did not exit within 10 s of SIGTERM" >&2
	rc=1
else
	wait "$pid" || { echo "fanout: the server exited with status $?" >&2; rc=1; }
fi
pid=
if grep -q . "$work/server.log"; then
	echo "fanout: server log (warnings and errors):"
	tail -n 20 "$work/server.log"
fi
exit "$rc"
