#!/usr/bin/env bash
# Runs every test: formatting, vet, the Go suite (HTTP, deploy, browser,
# proxy and Redis tests; they need Debian's chromium, nginx, caddy and
# redis-server, installed here when missing), and a short run of each fuzz
# target.
set -euo pipefail
cd "$(dirname "$0")/.."

# need_packages installs, from Debian, what the tests run for real and do
# not find: gcc (go test -race needs cgo), chromium (browser tests), nginx and
# caddy (proxies in front), redis-server (cluster mode). As root with apt-get it installs them and
# stops if that fails; otherwise it says what to install, and stops under CI
# (those tests fail there rather than skip).
need_packages() {
  local missing=() entry cmd
  for entry in gcc:gcc chromium:chromium nginx:nginx caddy:caddy redis-server:redis-server; do
    cmd=${entry%%:*}
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${entry#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "--- installing ${missing[*]} (tests run them for real)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
      echo "could not install ${missing[*]} with apt-get: install them, then run this again" >&2
      exit 1
    fi
  else
    echo "missing: ${missing[*]}: install Debian's packages (apt-get install ${missing[*]})" >&2
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
    # A failing input fails at once; a fuzzing run that broke down without
    # one (a worker lost on a starved machine) is said and tried again once.
    for try in 1 2; do
      if out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1); then
        echo "ok   $pkg $target"
        break
      fi
      echo "$out" | tail -40
      if [ "$try" = 2 ] || grep -q 'Failing input written to' <<<"$out"; then
        echo "FAIL $pkg $target" >&2
        exit 1
      fi
      echo "--- $pkg $target: the fuzzing run broke down without a failing input; once more"
    done
  done
done
echo "--- all tests passed"
