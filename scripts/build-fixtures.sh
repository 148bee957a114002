#!/usr/bin/env bash
# Builds the fixture SPA (fixtures/app) with three real bundlers into the
# committed fixture trees that the Go tests and the demo use:
#
#   fixtures/builds/{v1,v2,v3}/          Vite 7      (assets/name-XXXXXXXX.js, .vite/manifest.json)
#   fixtures/webpack-builds/{w1,w2}/     webpack 5   (CRA layout: static/js/name.xxxxxxxx[.chunk].js,
#                                                     static/css/..., asset-manifest.json)
#   fixtures/esbuild-builds/{e1,e2}/     esbuild     (main-XXXXXXXX.js, chunks/name-XXXXXXXX.js)
#
# Each build gets its version label from VITE_APP_VERSION (Vite) or the same
# expression defined by webpack/esbuild. Outputs are deterministic: building
# twice gives byte-identical trees. Tests need no npm; only this script does.
#
# Usage: scripts/build-fixtures.sh [--out DIR] [--skip-install] [--check]
#   --out DIR       write the three build trees under DIR instead of fixtures/
#   --skip-install  do not run `npm ci` (node_modules already installed)
#   --check         build twice into temp dirs, require identical output, and
#                   require it to match the committed fixtures; writes nothing
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP="$ROOT/fixtures/app"
OUT="$ROOT/fixtures"
INSTALL=1
CHECK=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --skip-install) INSTALL=0; shift ;;
    --check) CHECK=1; shift ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [[ $INSTALL == 1 ]]; then
  echo "== npm ci (fixtures/app)"
  (cd "$APP" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [[ $CHECK == 1 ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "${BASH_SOURCE[0]}" --skip-install --out "$tmp/a" >/dev/null
  "${BASH_SOURCE[0]}" --skip-install --out "$tmp/b" >/dev/null
  status=0
  for d in builds webpack-builds esbuild-builds; do
    diff -r "$tmp/a/$d" "$tmp/b/$d" || { echo "NOT deterministic: $d" >&2; status=1; }
    diff -r "$tmp/a/$d" "$ROOT/fixtures/$d" || { echo "committed fixtures/$d is stale: rerun scripts/build-fixtures.sh" >&2; status=1; }
  done
  [[ $status == 0 ]] && echo "fixtures are deterministic and up to date"
  exit $status
fi

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$APP"
export NODE_ENV=production

# Start from empty trees so no stale version directory survives.
rm -rf "$OUT/builds" "$OUT/webpack-builds" "$OUT/esbuild-builds"

for v in v1 v2 v3; do
  echo "== vite $v"
  VITE_APP_VERSION="$v" npx --no-install vite build --logLevel warn --outDir "$OUT/builds/$v"
done

for v in w1 w2; do
  echo "== webpack $v"
  node webpack.config.cjs "$OUT/webpack-builds/$v" "$v"
done

for v in e1 e2; do
  echo "== esbuild $v"
  node build-esbuild.mjs "$OUT/esbuild-builds/$v" "$v"
done

node check-builds.mjs "$OUT"

echo "== outputs (bytes)"
(cd "$OUT" && find builds webpack-builds esbuild-builds -type f -printf '%8s  %p\n' | sort -k2)
