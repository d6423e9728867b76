#!/usr/bin/env bash
# Debian packages the test suite needs: PostgreSQL and Redis servers, headless Chromium with CJK
# fonts (the HTML digest screenshot test), catdoc (the text of .doc and .wps attachments).
# Installs only what is missing; needs root for that.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi 'noto.*cjk' || need+=(fonts-noto-cjk)
# catdoc reads the text of Word 97 (.doc) and Kingsoft WPS attachments (crawler/files/attachment_text.py).
command -v catdoc >/dev/null 2>&1 || need+=(catdoc)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing system packages: ${need[*]} (run as root, or install them: apt-get install ${need[*]})" >&2
        exit 1
    fi
    echo "installing ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
