#!/usr/bin/env bash
# Churn: runs the real binary under continuous load on the pages and assets
# of three builds (fixtures/builds v1, v2, v3) while `skewless activate`
# flips the current build every FLIP_EVERY, for DURATION. Prints a summary
# line and fails on any failed request, 5xx, page mixing two builds, asset a
# page names that does not load, or error in the server's log.
#
#   DURATION=60s FLIP_EVERY=200ms scripts/churn.sh
#   RACE=1 scripts/churn.sh          # the server built with -race
#   scripts/churn.sh -page-workers 12 # more flags: go run ./scripts/churn --help
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/skewless-churn.XXXXXX")
cleanup() {
  status=$?
  if [ "$status" -eq 0 ]; then
    rm -rf "$work"
  else
    echo "churn failed (exit $status); the server log is in $work/server.log" >&2
  fi
}
trap cleanup EXIT

race=()
if [ "${RACE:-}" = 1 ]; then race=(-race); fi
go build ${race[@]+"${race[@]}"} -o "$work/skewless" ./server
go build -o "$work/churn" ./scripts/churn

"$work/churn" -bin "$work/skewless" -fixtures fixtures/builds -work "$work" \
  -duration "${DURATION:-60s}" -flip-every "${FLIP_EVERY:-200ms}" "$@"
