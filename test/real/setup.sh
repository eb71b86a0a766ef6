#!/usr/bin/env bash
# Installs what the real test tier runs: Debian's PostgreSQL, nginx, coturn, and Synapse from PyPI
# in a venv (repo-relative .cache/, git-ignored). Idempotent: skips what is already there.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
SYNAPSE_VERSION="${SYNAPSE_VERSION:-1.163.2}"
# Test-only extras in the same venv: the LDAP auth module Synapse loads, and an SMTP sink.
EXTRAS=("matrix-synapse-ldap3==0.4.0" "aiosmtpd==1.4.6")
VENV="${SYNAPSE_VENV:-$REPO/.cache/synapse-venv}"

need_apt=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v turnserver >/dev/null 2>&1 || need_apt+=(coturn)
command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || need_apt+=(slapd ldap-utils)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
# Debian's own Python for the venv: the servers run as an unprivileged user, who cannot reach a
# toolchain under /root (pyenv), and it is the Python a Debian host has.
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import ensurepip, venv" 2>/dev/null || need_apt+=(python3 python3-venv)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi
# The Debian packages start their own daemons; the tests run private instances instead.
for svc in nginx coturn postgresql slapd; do
  systemctl stop "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
done

if [ -x "$VENV/bin/python" ] && [ "$(readlink -f "$VENV/bin/python")" = "$(readlink -f /usr/bin/python3)" ] && "$VENV/bin/python" -c "import synapse,sys; sys.exit(0 if synapse.__version__ == '$SYNAPSE_VERSION' else 1)" 2>/dev/null; then
  echo "setup: Synapse $SYNAPSE_VERSION already in $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${EXTRAS[@]}"
else
  echo "setup: creating $VENV with matrix-synapse[postgres]==$SYNAPSE_VERSION"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q "matrix-synapse[postgres]==$SYNAPSE_VERSION" "${EXTRAS[@]}"
fi
# The service user (nobody) must be able to traverse to the venv.
chmod -R a+rX "$VENV"
d="$VENV"; while [ "$d" != "/" ]; do chmod a+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
echo "setup: done"
