#!/usr/bin/env bash
# Install the system packages the tests need, under CI only (CI=true, as root).
# Idempotent and quiet: a package whose command is already on PATH is skipped.
# Extend DEPS with "command:debian-package" pairs.
set -euo pipefail

DEPS=(
  "redis-server:redis-server"   # tests/store/test_store_contract.py: a real Redis for the Redis store
  "chromium:chromium"           # tests/http/test_dashboard.py: a real headless browser for the dashboard
  "nc:netcat-openbsd"           # tests/process/test_readme.py: the README's TCP examples run as printed
)

if [ "${CI:-}" != "true" ] || [ "$(id -u)" != 0 ]; then
  exit 0
fi

missing=()
for dep in "${DEPS[@]}"; do
  command -v "${dep%%:*}" >/dev/null 2>&1 || missing+=("${dep#*:}")
done

if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
