#!/usr/bin/env bash
# Runs skewless on a scratch copy of the fixture builds (the server's state
# never lands in the repository), starting on v1. Open the printed address,
# type into the text field, then deploy v2 from another terminal with the
# printed one-liner and watch the tab learn of it.
set -euo pipefail
cd "$(dirname "$0")/.."

demo=${SKEWLESS_DEMO_DIR:-${TMPDIR:-/tmp}/skewless-demo}
addr=${SKEWLESS_ADDR:-:8080}
rm -rf "$demo"
mkdir -p "$demo/builds"
cp -a fixtures/builds/v1 "$demo/builds/v1"
go build -o "$demo/skewless" ./server

port=${addr##*:}
cat <<MSG

skewless demo: http://localhost:${port}/   (builds folder: $demo/builds)

Deploy the next version while the tab is open:
  $demo/skewless deploy fixtures/builds/v2 --builds $demo/builds --version v2
Then click a link in the tab: it loads the new build. Roll back with:
  $demo/skewless activate v1 --builds $demo/builds
Status:
  $demo/skewless status --builds $demo/builds

MSG
exec "$demo/skewless" serve --builds "$demo/builds" --addr "$addr" --log-format console "$@"
