#!/usr/bin/env bash
# Install Debian's chromium for the browser tests (tests/test_browser.py, issue 7).
#
# Idempotent: does nothing when /usr/bin/chromium already exists. Installs only when running as
# root with apt-get available; otherwise prints what is missing and exits 0 so that the browser
# tests skip with a message naming the missing piece instead of failing the build.
# Override the binary with AEQKIT_CHROMIUM=/path/to/chromium (the tests honour it too).
set -u

chromium="${AEQKIT_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$chromium" ]; then
    echo "install_browser: chromium already present at $chromium ($("$chromium" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_browser: $chromium missing and not running as root; NOT installing" \
         "(run 'apt-get install -y chromium' as root). Browser tests will be skipped."
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: $chromium missing and apt-get not found; NOT installing." \
         "Browser tests will be skipped."
    exit 0
fi

echo "install_browser: $chromium missing; running apt-get update && apt-get install -y chromium"
export DEBIAN_FRONTEND=noninteractive
if apt-get update -q && apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; then
    if [ -x "$chromium" ]; then
        echo "install_browser: installed $("$chromium" --version 2>/dev/null || echo chromium)"
    else
        echo "install_browser: apt-get succeeded but $chromium is still missing." \
             "Browser tests will be skipped."
    fi
else
    echo "install_browser: apt-get install chromium FAILED (see output above)." \
         "Browser tests will be skipped."
fi
exit 0
