#!/usr/bin/env bash
# Runs every test: formatting, vet, the Go suite (HTTP, deploy and browser
# tests; the browser, nginx and cluster tests need Debian's chromium, nginx
# and redis-server, installed here when missing), and a short run of each
# fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests run for real: chromium (browser tests), nginx
# (behind a proxy, the cluster's load balancer), redis-server (cluster mode).
need_packages() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "--- installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]}: install these Debian packages (apt-get install ${missing[*]})" >&2
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

need_packages

echo "--- go test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
go test -race -count=1 -timeout 15m -v ./... > "$log" 2>&1 || status=$?
grep -E '^(ok|FAIL|panic:|--- FAIL)|^\s+--- FAIL|_test\.go:[0-9]+:' "$log" || true
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
echo "go test: $passed passed, $failed failed"
if [ "$status" -ne 0 ]; then
  echo "go test failed (exit $status); the full log follows" >&2
  cat "$log" >&2
  exit "$status"
fi

echo "--- fuzz (${FUZZTIME:=5s} each)"
for pkg in ./manifest ./server; do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >/dev/null
    echo "ok   $pkg $target"
  done
done
echo "--- all tests passed"
