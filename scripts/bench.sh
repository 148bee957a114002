#!/usr/bin/env bash
# Serves the same hashed assets (a ~1 KB and a ~10 KB chunk of fixture
# build v1) from nginx, from skewless and from a bare Fiber handler (the
# ceiling of skewless's stack), each pinned to CPU 0 with wrk on CPU 1, in
# alternating rounds, and prints requests/s, p99 latency and requests per
# server CPU-second (server CPU time from /proc), with ratios.
#
#   scripts/bench.sh                     # DURATION=10 ROUNDS=5 CONNS=50
#   DURATION=5 ROUNDS=1 scripts/bench.sh # a quick look
#   BASE=../other-checkout scripts/bench.sh
#
# With BASE, a skewless built from that checkout is measured too, in the
# same rounds ("base"), and the table gains skewless/base ratios: the cost
# of a change, measured against what it changes on the same machine at the
# same time. Every request carries what a browser's does (user agent,
# referrer), so the access line's work is measured.
#
# Shared machines drift by tens of percent within minutes, so each round
# measures the three servers back to back (in a rotating order) and the
# ratios are the medians of each round's own ratios.
#
# Loopback only; every run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-50}
UA="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"
REFERER="http://127.0.0.1/settings/profile"

need() {
  local missing=()
  command -v nginx >/dev/null || missing+=(nginx)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v brotli >/dev/null || missing+=(brotli)
  [ -f /usr/lib/nginx/modules/ngx_http_brotli_static_module.so ] || missing+=(libnginx-mod-http-brotli-static)
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing ${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # Debian may start its own nginx on port 80 on install: stop that service
  # (only it: other nginx processes on the machine are not ours).
  service nginx stop >/dev/null 2>&1 || true
}
need
[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs: the server on one, wrk on the other" >&2; exit 1; }

work=$(mktemp -d)
chmod 755 "$work" # nginx workers run as an unprivileged user
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

small=assets/about-Br9WxIf2.js
large=assets/report-BOLr84pY.js
go build -o "$work/skewless" ./server
go build -o "$work/bare" ./scripts/bench/bare
servers="nginx skewless bare"
if [ -n "${BASE:-}" ]; then
  (cd "$BASE" && go build -o "$work/base" ./server)
  servers="$servers base"
fi
mkdir -p "$work/builds" "$work/logs"
cp -a fixtures/builds/v1 "$work/builds/v1"
# nginx serves the same build with .gz/.br siblings for gzip_static and
# brotli_static (it never compresses per request in this setup either).
cp -a fixtures/builds/v1 "$work/www"
for f in "$work/www/$small" "$work/www/$large"; do gzip -9kf "$f"; brotli -q 11 -kf "$f"; done
cp -a "$work/www" "$work/bare-root"

cat > "$work/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_brotli_static_module.so;
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/logs/nginx-error.log;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log $work/logs/nginx-access.log combined buffer=256k flush=1s;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 65; keepalive_requests 1000000;
  open_file_cache max=10000 inactive=60s; open_file_cache_valid 60s; open_file_cache_errors on;
  gzip_static on; brotli_static on; etag on;
  server {
    listen 127.0.0.1:18081 backlog=4096;
    root $work/www;
    location /assets/ { add_header Cache-Control "public, max-age=31536000, immutable"; }
    location / { try_files \$uri /index.html; add_header Cache-Control "no-cache"; }
  }
}
CONF

# taskset execs the server: $! is the server's own pid.
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" 2>>"$work/logs/nginx-error.log" & pids+=($!)
taskset -c 0 "$work/skewless" serve --builds "$work/builds" --addr 127.0.0.1:18080 --metrics-addr "" 2>"$work/logs/skewless.log" & pids+=($!)
taskset -c 0 "$work/bare" -addr 127.0.0.1:18082 -root "$work/bare-root" 2>"$work/logs/bare.log" & pids+=($!)
declare -A pid=([nginx]=${pids[0]} [skewless]=${pids[1]} [bare]=${pids[2]})
declare -A base=([nginx]=http://127.0.0.1:18081 [skewless]=http://127.0.0.1:18080 [bare]=http://127.0.0.1:18082)
if [ -n "${BASE:-}" ]; then
  mkdir -p "$work/builds-base" && cp -a fixtures/builds/v1 "$work/builds-base/v1"
  taskset -c 0 "$work/base" serve --builds "$work/builds-base" --addr 127.0.0.1:18083 --metrics-addr "" 2>"$work/logs/base.log" & pids+=($!)
  pid[base]=${pids[3]}
  base[base]=http://127.0.0.1:18083
fi
for s in $servers; do
  for _ in $(seq 100); do curl -sf -o /dev/null "${base[$s]}/$small" && break; sleep 0.05; done
  kill -0 "${pid[$s]}" 2>/dev/null || { echo "$s did not start:" >&2; cat "$work/logs/$s"*.log >&2; exit 1; }
done

# server_pids NAME: the processes whose CPU time counts (nginx: master and worker).
server_pids() {
  case $1 in
    nginx) echo "${pid[nginx]} $(pgrep -P "${pid[nginx]}" | tr '\n' ' ')" ;;
    *) echo "${pid[$1]}" ;;
  esac
}
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
hz=$(getconf CLK_TCK)

# url SERVER SIZE ENC: what each server is asked for (bare: the encoded file itself).
url() {
  local path=$small; [ "$2" = 10k ] && path=$large
  if [ "$1" = bare ] && [ "$3" != identity ]; then
    case $3 in gzip) path=$path.gz ;; br) path=$path.br ;; esac
  fi
  echo "${base[$1]}/$path"
}

# Check every server answers each case correctly before measuring it.
for size in 1k 10k; do for enc in identity gzip br; do for s in $servers; do
  got=$(curl -s -o /dev/null -w '%{http_code} %header{content-encoding}' -H "Accept-Encoding: $enc" "$(url $s $size $enc)")
  want="200 "; [ "$s" != bare ] && [ "$enc" != identity ] && want="200 $enc"
  [ "$got" = "$want" ] || { echo "$s $size $enc: got '$got', want '$want'" >&2; exit 1; }
done; done; done

results=$work/results.tsv
for round in $(seq "$ROUNDS"); do
  # Rotate who goes first, so no server always follows the same one.
  read -r -a all <<<"$servers"
  n=${#all[@]}; k=$((round % n)); order="${all[*]:k} ${all[*]:0:k}"
  for size in 1k 10k; do for enc in identity gzip br; do
    for s in $order; do
      read -r -a ps <<<"$(server_pids $s)"
      c0=$(cpu_ticks "${ps[@]}")
      out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "Accept-Encoding: $enc" \
        -H "User-Agent: $UA" -H "Referer: $REFERER" "$(url $s $size $enc)")
      c1=$(cpu_ticks "${ps[@]}")
      reqs=$(awk '/requests in/ {print $1}' <<<"$out")
      rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
      p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
      errs=$(awk '/Non-2xx/ {print}' <<<"$out")
      [ -z "$errs" ] || { echo "$s $size $enc: $errs" >&2; exit 1; }
      # Socket timeouts say the machine was overloaded, not that answers
      # were wrong: reported, and the round's figures kept.
      errs=$(awk '/Socket errors/ {print}' <<<"$out")
      [ -z "$errs" ] || echo "$s $size $enc:$errs" >&2
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$enc" "$s" "$rps" "$p99" "$reqs" "$(awk -v c=$((c1 - c0)) -v hz="$hz" -v r="$reqs" 'BEGIN {printf "%.0f", (c > 0 ? r / (c / hz) : 0)}')" "$round" >>"$results"
      echo "round $round: $size $enc $s $rps req/s" >&2
    done
  done; done
done

# Medians per case and server, ratios as medians of each round's, then the table.
echo
echo "skewless vs nginx vs bare Fiber — $(date -u +%F), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), ${ROUNDS}x${DURATION}s, $CONNS connections"
echo "per CPU-s = requests per second of server CPU time (user+system), the server pinned to one CPU;"
echo "ratios are medians of the ratios within each round (the servers measured back to back)"
echo
awk -F'\t' -v withBase="${BASE:+1}" '
function median(key,   n, a, i, j, t) {
  n = split(vals[key], a, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ k = $1 SUBSEP $2 SUBSEP $3; vals[k SUBSEP "rps"] = vals[k SUBSEP "rps"] " " $4; vals[k SUBSEP "p99"] = vals[k SUBSEP "p99"] " " $5; vals[k SUBSEP "cpu"] = vals[k SUBSEP "cpu"] " " $7; cases[$1 SUBSEP $2] = 1
  round[$1 SUBSEP $2 SUBSEP $8 SUBSEP $3 SUBSEP "rps"] = $4; round[$1 SUBSEP $2 SUBSEP $8 SUBSEP $3 SUBSEP "cpu"] = $7; rounds[$8] = 1 }
# ratio(case, a, b, what): the median over rounds of a/b.
function ratio(c, a, b, what,   rd, key) {
  key = c SUBSEP a SUBSEP b SUBSEP what
  for (rd in rounds) if (round[c SUBSEP rd SUBSEP b SUBSEP what] > 0) vals[key] = vals[key] " " round[c SUBSEP rd SUBSEP a SUBSEP what] / round[c SUBSEP rd SUBSEP b SUBSEP what]
  return median(key)
}
END {
  printf "| %-4s | %-8s | %-22s | %-22s | %-22s | %-15s | %-17s |\n", "size", "encoding", "nginx req/s · p99 · /CPU-s", "skewless req/s · p99 · /CPU-s", "bare req/s · p99 · /CPU-s", "skewless/nginx", "skewless/bare"
  printf "|------|----------|------------------------|------------------------|------------------------|-----------------|-------------------|\n"
  split("1k 10k", sizes, " "); split("identity gzip br", encs, " ")
  for (si = 1; si <= 2; si++) for (ei = 1; ei <= 3; ei++) {
    c = sizes[si] SUBSEP encs[ei]
    if (!(c in cases)) continue
    for (s = 1; s <= 4; s++) {
      name = (s == 1) ? "nginx" : (s == 2) ? "skewless" : (s == 3) ? "bare" : "base"
      r[name] = median(c SUBSEP name SUBSEP "rps"); p[name] = median(c SUBSEP name SUBSEP "p99"); u[name] = median(c SUBSEP name SUBSEP "cpu")
      cell[name] = sprintf("%.0f · %.2fms · %.0f", r[name], p[name], u[name])
    }
    printf "| %-4s | %-8s | %-22s | %-22s | %-22s | %.2fx · %.2fx/CPU | %.2fx/CPU |\n", sizes[si], encs[ei], cell["nginx"], cell["skewless"], cell["bare"], ratio(c, "skewless", "nginx", "rps"), ratio(c, "skewless", "nginx", "cpu"), ratio(c, "skewless", "bare", "cpu")
    if (withBase) line[++lines] = sprintf("| %-4s | %-8s | %-22s | %-22s | %.3fx · %.3fx/CPU |", sizes[si], encs[ei], cell["base"], cell["skewless"], ratio(c, "skewless", "base", "rps"), ratio(c, "skewless", "base", "cpu"))
  }
  if (withBase) {
    printf "\nskewless against the build of BASE (same rounds; >1: faster, more requests per CPU-second)\n\n"
    printf "| %-4s | %-8s | %-22s | %-22s | %-21s |\n", "size", "encoding", "base req/s · p99 · /CPU-s", "skewless req/s · p99 · /CPU-s", "skewless/base"
    printf "|------|----------|------------------------|------------------------|-----------------------|\n"
    for (i = 1; i <= lines; i++) print line[i]
  }
}' "$results"
