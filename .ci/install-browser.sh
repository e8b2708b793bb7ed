#!/usr/bin/env bash
# The docs page test (test/e2e/docs.test.ts) drives Debian's Chromium at /usr/bin/chromium with
# playwright-core. Install it when it is missing.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium is installed: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
  exit 0
fi

echo "chromium is missing; installing it"
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
$sudo_cmd apt-get update
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y chromium
/usr/bin/chromium --version
