#!/usr/bin/env bash
# Runs skewless on a scratch copy of the fixture builds (the server's state
# never lands in the repository), starting on v1. Open the printed address,
# type into the text field, then deploy v2 from another terminal with the
# printed one-liner: the tab shows a notice at once, and the next click loads
# the new build with the typed text kept.
#
# Arguments go to `skewless serve` (e.g. --addr 127.0.0.1:9090 --grace 1m);
# the banner shows the address they give. Run it again to start afresh: the
# scratch folder is recreated, unless a demo still runs from it, which is
# then left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

demo=${SKEWLESS_DEMO_DIR:-${TMPDIR:-/tmp}/skewless-demo}
addr=${SKEWLESS_ADDR:-:8080}
scheme=http
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --addr | -addr) addr=${args[i + 1]:-$addr} ;;
    --addr=* | -addr=*) addr=${args[i]#*=} ;;
    --tls-cert | -tls-cert | --tls-cert=* | -tls-cert=*) scheme=https ;;
  esac
done

# A running demo owns its folder: its pid is in demo.pid (the script execs
# the server, so the pid is the server's).
if [ -f "$demo/demo.pid" ]; then
  pid=$(cat "$demo/demo.pid")
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$demo/skewless"; then
    echo "a demo is already running from $demo (pid $pid): stop it first (Ctrl-C in its terminal, or kill $pid)," >&2
    echo "or run another one elsewhere: SKEWLESS_DEMO_DIR=/tmp/skewless-demo2 $0 --addr :8081" >&2
    exit 1
  fi
fi
rm -rf "$demo"
mkdir -p "$demo/builds"
cp -a fixtures/builds/v1 "$demo/builds/v1"
go build -o "$demo/skewless" ./server

# The address to open: the host of --addr, or localhost when it names none
# (":8080") or every interface ("0.0.0.0:8080", "[::]:8080").
host=${addr%:*}
port=${addr##*:}
case $host in
  "" | 0.0.0.0 | "[::]") host=localhost ;;
esac
cat <<MSG

skewless demo: ${scheme}://${host}:${port}/   (builds folder: $demo/builds)

Deploy the next version while the tab is open:
  $demo/skewless deploy $PWD/fixtures/builds/v2 --builds $demo/builds --version v2
The tab shows "A new version is ready"; click a link and it loads the new
build, your typed text kept. Roll back with:
  $demo/skewless activate v1 --builds $demo/builds
Status:
  $demo/skewless status --builds $demo/builds

MSG
echo $$ > "$demo/demo.pid"
exec "$demo/skewless" serve --builds "$demo/builds" --addr "$addr" --log-format console "$@"
