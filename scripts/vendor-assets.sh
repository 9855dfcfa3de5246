#!/usr/bin/env bash
# Vendor the browser assets the console and /docs serve from src/weixi/console/static/, from the npm registry,
# at pinned versions. Nothing is loaded from outside the machine at run time. Rerun to reproduce the files;
# add a package by appending a `vendor` line below (keep the others as they are).
set -euo pipefail
cd "$(dirname "$0")/.."
STATIC=src/weixi/console/static
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# vendor PACKAGE VERSION DEST FILE... : copy FILEs (paths inside the package) to $STATIC/DEST/
vendor() {
  local pkg=$1 version=$2 dest=$3
  shift 3
  (cd "$TMP" && npm pack --silent "$pkg@$version" >/dev/null)
  local tgz
  tgz=$(ls "$TMP"/*.tgz)
  mkdir -p "$TMP/x" "$STATIC/$dest"
  tar -xzf "$tgz" -C "$TMP/x"
  for f in "$@"; do cp "$TMP/x/package/$f" "$STATIC/$dest/$(basename "$f")"; done
  echo "$pkg@$version" > "$STATIC/$dest/VERSION"
  rm -rf "$TMP/x" "$tgz"
}

# Swagger UI for /docs (Apache-2.0)
vendor swagger-ui-dist 5.35.0 swagger-ui swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE

# htmx for the console's partial page updates (0BSD). 2.0.x: the stable attribute API the templates use.
vendor htmx.org 2.0.11 vendor/htmx dist/htmx.min.js LICENSE
# Apache ECharts for the console's charts (Apache-2.0)
vendor echarts 6.1.0 vendor/echarts dist/echarts.min.js LICENSE NOTICE
