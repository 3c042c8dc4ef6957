#!/usr/bin/env bash
# Screenshot a padan report in headless Chromium and fail on console errors.
#
#   scripts/screenshot-report.sh REPORT.html OUT.png [WIDTH,HEIGHT]
#
# Exit codes: 0 ok, 1 console errors or no screenshot, 2 usage, 3 chromium missing.
# When chromium is missing and CI is set, installs Debian's `chromium` package first.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2
  exit 2
fi
report=$1
out=$2
size=${3:-1280,4000}
[ -f "$report" ] || { echo "no such file: $report" >&2; exit 2; }

chrome=""
for c in chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null 2>&1; then chrome=$c; break; fi
done
if [ -z "$chrome" ] && [ -n "${CI:-}" ]; then
  echo "chromium not found; installing (CI)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  chrome=chromium
fi
if [ -z "$chrome" ]; then
  echo "chromium is not installed (apt-get install -y chromium)" >&2
  exit 3
fi

abs_report=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
abs_out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT
rm -f "$abs_out"

# --enable-logging=stderr --v=0 prints page console messages as "CONSOLE" lines.
timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile" \
  --enable-logging=stderr --v=0 \
  --window-size="$size" --screenshot="$abs_out" "file://$abs_report" >"$log" 2>&1 || {
  echo "chromium failed:" >&2
  cat "$log" >&2
  exit 1
}

if grep -E "Uncaught|ERROR:CONSOLE|CONSOLE\([0-9]+\)\].*(Error|error)|Failed to load resource|net::ERR_" "$log" >&2; then
  echo "console errors while loading $report" >&2
  exit 1
fi
if [ ! -s "$abs_out" ]; then
  echo "no screenshot written" >&2
  cat "$log" >&2
  exit 1
fi
echo "wrote $out"
