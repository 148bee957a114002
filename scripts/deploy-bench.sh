#!/usr/bin/env bash
# Deploy benchmarks (issue 10): a drop of a large generated build into a
# running server (time to current, RSS); an activate while such a build
# loads (how soon it is followed, and which build is current after the
# load); a restart with two large live builds (time to an open port, to
# the current build serving, to both loaded). One line per figure.
#
#   scripts/deploy-bench.sh                              # 20,000 files / 42 MB; two 64 MiB builds
#   scripts/deploy-bench.sh -only drop -files 5000 -bytes 10000000
#   scripts/deploy-bench.sh -only rollback -files 5000 -bytes 10500000
#   scripts/deploy-bench.sh -only restart -restart-mib 16
#   go run ./scripts/deploybench -gen /tmp/big         # just write a build
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/skewless-deploybench.XXXXXX")
trap 'rm -rf "$work"' EXIT
go build -o "$work/skewless" ./server
go build -o "$work/deploybench" ./scripts/deploybench
"$work/deploybench" -bin "$work/skewless" -work "$work" "$@"
