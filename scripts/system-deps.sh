#!/usr/bin/env bash
# Install the system packages the test suite needs, when they are missing.
# As root (CI, the project's machines) this uses apt-get; otherwise it prints the
# command to run and fails, so a missing dependency is never silently skipped.
set -euo pipefail

missing=()
# PostgreSQL server binaries for the throwaway test cluster (tests/pg.py).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    missing+=(postgresql)
fi
# Signed-PDF validation (pdfsig, pdftoppm, pdffonts), its NSS trust store, an embeddable CJK font.
if ! command -v pdfsig >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
    missing+=(poppler-utils)
fi
if ! command -v certutil >/dev/null 2>&1; then
    missing+=(libnss3-tools)
fi
if [ ! -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]; then
    missing+=(fonts-wqy-zenhei)
fi
# Redis for the shared-state stores (tests start their own redis-server on a free port).
if ! command -v redis-server >/dev/null 2>&1; then
    missing+=(redis-server)
fi
# The openssl command: the independent SM2 oracle of tests/integration/sm.
if ! command -v openssl >/dev/null 2>&1; then
    missing+=(openssl)
fi
# Node.js (20 or later) and npm: the OpenID Provider of tests/integration/oidc (tests/oidc/op.mjs).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "system-deps: missing ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
