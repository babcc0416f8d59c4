#!/bin/sh
# The Debian packages `make test` needs besides Python and Node: chromium (the portal's browser
# tests drive /usr/bin/chromium with Playwright; nothing downloads a browser) and PostgreSQL's
# server binaries (the index tests start a server of their own in a temporary folder).
# As root it installs what is missing with apt-get; otherwise it says what to install.
die() { echo "procurechain: $*" >&2; exit 1; }
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  die "the tests need Debian's$missing: run sudo apt-get install -y$missing, then make test again"
fi
echo "==> apt-get install$missing (browser tests, PostgreSQL index tests)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || die "apt-get update failed: check the network, or install$missing yourself"
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
  die "apt-get install$missing failed: install them yourself, then make test again"
