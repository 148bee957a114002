#!/usr/bin/env bash
# Minifies the browser helper (server/client/client.js → client.min.js, the
# file the binary embeds) with the esbuild pinned by fixtures/app. The first
# line records the source's SHA-256; a test fails when they drift apart.
set -euo pipefail
cd "$(dirname "$0")/.."
esbuild=fixtures/app/node_modules/.bin/esbuild
[ -x "$esbuild" ] || (cd fixtures/app && npm ci --no-audit --no-fund)
src=server/client/client.js
out=server/client/client.min.js
sum=$(sha256sum "$src" | cut -d' ' -f1)
{
  echo "// skewless client helper; source sha256:$sum"
  "$esbuild" "$src" --minify --target=es2020 --legal-comments=none --log-level=warning
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out: $(wc -c < "$out") bytes, $(gzip -9c "$out" | wc -c) gzipped"
