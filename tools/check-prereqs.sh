#!/bin/sh
# Stops `make` at once, with one line, when a tool the project needs is missing.
# Usage: tools/check-prereqs.sh PYTHON
py="${1:-python3}"
die() { echo "procurechain: $*" >&2; exit 1; }

command -v "$py" >/dev/null 2>&1 ||
  die "$py not found: install Python 3.11+ (Debian: apt-get install python3 python3-venv) or run make PY=/path/to/python3.11"
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "$("$py" -V 2>&1) is too old: Python 3.11+ is needed (Debian: apt-get install python3.11 python3.11-venv, then make PY=python3.11)"
"$py" -c 'import venv, ensurepip' 2>/dev/null ||
  die "$py cannot create virtualenvs: install the venv module (Debian: apt-get install python3-venv)"
command -v node >/dev/null 2>&1 ||
  die "node not found: install Node.js 20+ (Debian: apt-get install nodejs npm, or https://nodejs.org)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)' ||
  die "node $(node --version) is too old: Node.js 20+ is needed"
command -v npm >/dev/null 2>&1 ||
  die "npm not found: install npm (Debian: apt-get install npm)"
exit 0
