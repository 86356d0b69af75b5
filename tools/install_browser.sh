#!/usr/bin/env bash
# Installs Debian's Chromium for the real-browser test (tests/test_browser.py) when it is missing.
# Never fatal: without Chromium that one test is skipped and says why.
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then echo "browser: $(chromium --version 2>/dev/null | head -1)"; exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
if command -v apt-get >/dev/null 2>&1 && { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; } >/tmp/sftnb-chromium-install.log 2>&1; then
  echo "browser: installed $(chromium --version 2>/dev/null | head -1)"
else
  echo "browser: could not install Debian's chromium (log: /tmp/sftnb-chromium-install.log); the browser test will be skipped"
fi
exit 0
