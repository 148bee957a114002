#!/usr/bin/env bash
# Cluster benchmark: starts a redis-server of its own and three skewless
# instances on loopback (each with its own builds folder holding fixture
# builds v1, v2, v3), then reports
#   - the switch spread: how far apart the three instances switch to a newly
#     activated build, each by its own record (p50 and max over ACTIVATIONS
#     `skewless activate --redis`; the contract's bound is 250 ms);
#   - the fan-out: STREAMS event streams spread round robin over the three
#     instances, and how long after the first instance's switch the last
#     stream reads the new version (ROUNDS activations), with the same event
#     id on every stream.
#
#   scripts/cluster-bench.sh                      # ACTIVATIONS=20 STREAMS=10000 ROUNDS=3
#   STREAMS=0 scripts/cluster-bench.sh            # the switch spread only
#
# Environment: ACTIVATIONS (20), STREAMS (10000; lowered to what `ulimit -n`
# allows), ROUNDS (3), PORT (18500: instances PORT+1..3, metrics
# PORT+11..13, Redis PORT+20), KEEP=1 keeps the scratch folder and logs.
# Everything it starts is stopped at the end, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

activations=${ACTIVATIONS:-20}
streams=${STREAMS:-10000}
rounds=${ROUNDS:-3}
port=${PORT:-18500}
redis_port=$((port + 20))
redis_url="redis://127.0.0.1:$redis_port/0"

command -v redis-server >/dev/null || { echo "cluster-bench: needs redis-server (apt-get install redis-server)" >&2; exit 2; }
command -v curl >/dev/null || { echo "cluster-bench: needs curl" >&2; exit 2; }

# The client holds one descriptor per stream, each instance a third of them.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
limit=$(ulimit -n)
if [ "$limit" != unlimited ] && [ "$streams" -gt $((limit - 1024)) ]; then
  echo "cluster-bench: ulimit -n is $limit: $((limit - 1024)) streams instead of $streams" >&2
  streams=$((limit - 1024))
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/skewless-cluster-bench.XXXXXX")
pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-}" = 1 ]; then echo "cluster-bench: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$redis_port" $((port + 1)) $((port + 2)) $((port + 3)) $((port + 11)) $((port + 12)) $((port + 13)); do
  if in_use "$p"; then echo "cluster-bench: port $p is in use; pick others with PORT=..." >&2; exit 2; fi
done

timeout 300 go build -o "$work/skewless" ./server
timeout 300 go build -o "$work/clusterbench" ./scripts/clusterbench

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  --logfile "$work/redis.log" &
pids+=($!)
nodes=() metrics=()
for n in 1 2 3; do
  mkdir -p "$work/node$n"
  cp -a fixtures/builds/v1 fixtures/builds/v2 fixtures/builds/v3 "$work/node$n/"
  nodes+=("127.0.0.1:$((port + n))")
  metrics+=("127.0.0.1:$((port + 10 + n))")
  "$work/skewless" serve --builds "$work/node$n" --addr "${nodes[-1]}" --metrics-addr "${metrics[-1]}" \
    --redis "$redis_url" --max-sse $((streams + 1000)) --grace 1h --log-level warn --log-format console \
    2>"$work/node$n.log" &
  pids+=($!)
done

for node in "${nodes[@]}"; do
  for _ in $(seq 300); do # 30 s
    curl -fsS -o /dev/null --max-time 1 "http://$node/_skewless/health" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -o /dev/null --max-time 1 "http://$node/_skewless/health" ||
    { echo "cluster-bench: $node is not healthy after 30 s" >&2; tail -n 5 "$work"/node*.log >&2; exit 1; }
done

echo "cluster-bench: 3 instances, $activations activations, $streams streams, $rounds fan-out rounds; $(uptime)"
rc=0
(IFS=,; timeout --kill-after=5 600 "$work/clusterbench" -nodes "${nodes[*]}" -metrics "${metrics[*]}" \
  -redis "$redis_url" -bin "$work/skewless" -activations "$activations" -streams "$streams" -rounds "$rounds") || rc=$?
echo "cluster-bench: done; $(uptime)"
for n in 1 2 3; do
  if grep -q . "$work/node$n.log"; then echo "node$n log (warnings and errors):"; tail -n 5 "$work/node$n.log"; fi
done
exit "$rc"
