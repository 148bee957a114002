#!/usr/bin/env bash
# Runs a skewless cluster on this machine for a person to try: a
# redis-server of its own, three instances (each with its own builds
# folder, starting on fixture build v1) and nginx round robin in front,
# with the configuration operators are pointed to (scripts/nginx/cluster.conf).
# It prints the commands to deploy v2 and roll back, then waits; Ctrl-C
# stops everything it started. Running it again first stops what a previous
# run left (by the process ids it recorded) and starts afresh.
#
#   scripts/cluster.sh                 # LB on :8080, instances :8081-8083
#   PORT=9000 scripts/cluster.sh       # LB on :9000, instances :9001-9003
#
# Environment: PORT (8080: the load balancer; the instances use the next
# three ports, Redis PORT+10, metrics PORT+1101..+1103), SKEWLESS_CLUSTER_DIR
# (scratch folder, default $TMPDIR/skewless-cluster). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

port=${PORT:-8080}
redis_port=$((port + 10))
work=${SKEWLESS_CLUSTER_DIR:-${TMPDIR:-/tmp}/skewless-cluster}
redis_url="redis://127.0.0.1:$redis_port/0"

for bin in redis-server nginx curl; do
  if ! command -v "$bin" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$bin" ]; then
    echo "cluster: $bin is missing: apt-get install redis-server nginx curl" >&2
    exit 1
  fi
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

# A previous run that was not stopped cleanly: stop the processes it
# recorded, and only those.
if [ -f "$work/pids" ]; then
  while read -r old; do
    kill "$old" 2>/dev/null || true
  done <"$work/pids"
  sleep 1
fi
rm -rf "$work"
mkdir -p "$work/nginx"
chmod 755 "$work"
: >"$work/pids"

pids=()
started() { pids+=("$1"); echo "$1" >>"$work/pids"; }
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "cluster: stopping"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$work/pids"
  echo "cluster: stopped (logs kept in $work)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$port" "$redis_port" $((port + 1)) $((port + 2)) $((port + 3)); do
  if in_use "$p"; then
    echo "cluster: port $p is in use; pick other ports with PORT=..." >&2
    exit 1
  fi
done

go build -o "$work/skewless" ./server

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --logfile "$work/redis.log" &
started $!

for n in 1 2 3; do
  mkdir -p "$work/node$n/builds"
  cp -a fixtures/builds/v1 "$work/node$n/builds/v1"
  "$work/skewless" serve --builds "$work/node$n/builds" --addr "127.0.0.1:$((port + n))" \
    --metrics-addr "127.0.0.1:$((port + 1100 + n))" --redis "$redis_url" \
    --log-format console 2>"$work/node$n.log" &
  started $!
done

sed -e "s|server 127.0.0.1:8081 |server 127.0.0.1:$((port + 1)) |" \
  -e "s|server 127.0.0.1:8082 |server 127.0.0.1:$((port + 2)) |" \
  -e "s|server 127.0.0.1:8083 |server 127.0.0.1:$((port + 3)) |" \
  -e "s|listen 8080;|listen 127.0.0.1:$port;|" scripts/nginx/cluster.conf >"$work/nginx/cluster.conf"
user=
[ "$(id -u)" = 0 ] && user="user root;"
cat >"$work/nginx/nginx.conf" <<CONF
$user
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    include $work/nginx/cluster.conf;
}
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
started $!

for _ in $(seq 150); do # 15 s
  if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/_skewless/health" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
if ! curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/_skewless/health"; then
  echo "cluster: not healthy after 15 s; logs in $work" >&2
  tail -n 5 "$work"/node*.log >&2 || true
  exit 1
fi

s="$work/skewless"
cat <<MSG

skewless cluster: http://127.0.0.1:$port/  (nginx round robin over 127.0.0.1:$((port + 1))-$((port + 3)))
Redis: $redis_url   logs: $work/node{1,2,3}.log

Deploy v2: copy it into every instance's builds folder, slowly if you like;
no instance switches until all three have it, then all switch together:
  for n in 1 2 3; do $s deploy $repo/fixtures/builds/v2 --builds $work/node\$n/builds --version v2; sleep 2; done
Watch it:
  $s status --redis $redis_url
  curl -sI http://127.0.0.1:$port/ | grep -i skewless-version
  curl -sN http://127.0.0.1:$port/_skewless/events
Roll back (every instance, at once; no --builds needed):
  $s activate v1 --redis $redis_url
Try an outage: kill -STOP / -CONT the redis-server (pid ${pids[0]}); the instances keep serving.

Ctrl-C stops the cluster.
MSG
wait -n "${pids[@]}" || true
echo "cluster: a process exited; see the logs in $work" >&2
exit 1
