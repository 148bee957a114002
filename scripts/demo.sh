#!/usr/bin/env bash
# Runs skewless on a scratch copy of the fixture builds (the server's state
# never lands in the repository), starting on v1. Open the printed address,
# type into the text field, then deploy v2 from another terminal with the
# printed one-liner: the tab shows a notice at once, and the next click loads
# the new build with the typed text kept.
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
The tab shows "A new version is ready"; click a link and it loads the new
build, your typed text kept. Roll back with:
  $demo/skewless activate v1 --builds $demo/builds
Status:
  $demo/skewless status --builds $demo/builds

MSG
exec "$demo/skewless" serve --builds "$demo/builds" --addr "$addr" --log-format console "$@"
