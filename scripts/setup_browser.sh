#!/usr/bin/env bash
# Installs what the dashboard's browser test needs: Debian's chromium, Node.js with npm, and
# puppeteer-core (pinned in tests/browser/package-lock.json, no browser download) in a folder
# outside the source tree. Idempotent; prints the folder holding node_modules on the last line.
#   scripts/setup_browser.sh            (DAGSTACK_BROWSER_DEPS overrides the folder)
set -euo pipefail
cd "$(dirname "$0")/.."
deps="${DAGSTACK_BROWSER_DEPS:-${XDG_CACHE_HOME:-$HOME/.cache}/dagstack-logger-browser}"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup_browser: run as root, or install: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

mkdir -p "$deps"
if ! cmp -s tests/browser/package-lock.json "$deps/package-lock.json" ||
   [ ! -f "$deps/node_modules/puppeteer-core/package.json" ]; then
  cp tests/browser/package.json tests/browser/package-lock.json "$deps/"
  (cd "$deps" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup_browser: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), node $(node --version)," \
     "puppeteer-core $(node -p "require('$deps/node_modules/puppeteer-core/package.json').version")" >&2
echo "$deps"
