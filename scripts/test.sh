#!/usr/bin/env bash
# Runs every test: formatting, vet, the Go suite (HTTP, deploy and browser
# tests; the browser tests need Debian's chromium, installed here when
# missing), and a short run of each fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

need_chromium() {
  command -v chromium >/dev/null 2>&1 && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "--- installing chromium (browser tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: install Debian's chromium package (apt-get install chromium)" >&2
    [ -z "${CI:-}" ] || exit 1
  fi
}

echo "--- gofmt"
unformatted=$(gofmt -l server manifest)
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi

echo "--- go vet"
go vet ./...

need_chromium

echo "--- go test"
go test -race -count=1 -timeout 15m ./...

echo "--- fuzz (${FUZZTIME:=5s} each)"
for pkg in ./manifest ./server; do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >/dev/null
    echo "ok   $pkg $target"
  done
done
echo "--- all tests passed"
