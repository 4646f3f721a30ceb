#!/usr/bin/env bash
# Services the tests use, from Debian's packages: headless Chromium (map tests), poppler and a CJK font (wall
# maps), QGIS with PyQGIS (QGIS tests) and PostgreSQL with PostGIS (plan storage tests), on loopback only. Prints
# the DSN export for the tests; run as root on a fresh machine.
#
# Every package is named: nothing relies on Recommends. Debian's `postgis` package holds only the client tools
# and merely *recommends* the server extension, so the extension's own packages are named for the server's
# major version (postgresql-NN-postgis-3 holds postgis.so, -scripts holds postgis.control and the SQL).
set -euo pipefail

need() {  # one message that says what to install, then stop
  echo "scripts/test-services.sh: $1 is missing and cannot be installed here (not root)." >&2
  echo "  As root: apt-get install --no-install-recommends $2" >&2
  echo "  or set GRIDPLAN_TEST_PG to a PostgreSQL database with PostGIS you have." >&2
  exit 1
}
apt_install() {
  if [ "$(id -u)" != 0 ]; then need "$1" "$2"; fi
  apt-get update -qq >&2
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $2 >/dev/null
}

BROWSER_PACKAGES="chromium fonts-wqy-zenhei"
command -v chromium >/dev/null 2>&1 || apt_install "headless Chromium" "$BROWSER_PACKAGES"
# wall maps: poppler reads the PDFs back (text, pages, size); their Chinese text needs a CJK font
command -v pdftotext >/dev/null 2>&1 || apt_install "poppler-utils (pdftotext, pdftoppm, pdfinfo)" "poppler-utils"
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || apt_install "a CJK font (WenQuanYi Zen Hei)" "fonts-wqy-zenhei"

# QGIS tests: qgis_process (qgis), PyQGIS for the system's python3 (python3-qgis; its Processing plugin comes
# with python3-qgis-common) and the data providers (qgis-providers); ~2 minutes. qgis-plugin-grass, the only
# Recommends, is not needed.
QGIS_PACKAGES="qgis python3-qgis python3-qgis-common qgis-providers"
[ -x /usr/bin/qgis_process ] && [ -d /usr/share/qgis/python/plugins/processing ] \
  && QT_QPA_PLATFORM=offscreen /usr/bin/python3 -c 'import qgis.core' >/dev/null 2>&1 \
  || apt_install "QGIS with PyQGIS" "$QGIS_PACKAGES"

[ -d /usr/lib/postgresql ] && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
  || apt_install "the PostgreSQL server" "postgresql postgresql-common"
PG_VERSION=$(ls /usr/lib/postgresql | sort -V | tail -1)
POSTGIS_PACKAGES="postgresql-${PG_VERSION}-postgis-3 postgresql-${PG_VERSION}-postgis-3-scripts"
[ -f "/usr/share/postgresql/${PG_VERSION}/extension/postgis.control" ] \
  && [ -f "/usr/lib/postgresql/${PG_VERSION}/lib/postgis-3.so" ] \
  || apt_install "the PostGIS extension for PostgreSQL ${PG_VERSION}" "$POSTGIS_PACKAGES"

pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {found=1} END {exit !found}' \
  || pg_createcluster "$PG_VERSION" main >&2
pg_ctlcluster "$PG_VERSION" main status >/dev/null 2>&1 || pg_ctlcluster "$PG_VERSION" main start >&2  # stdout carries only the export
PG_PORT=$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {print $3}')
# one password per machine, kept where only root and postgres read it: runs side by side share the role
SECRET=/var/lib/postgresql/gridplan_ci.password
if [ ! -s "$SECRET" ]; then
  (umask 077; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$SECRET")
fi
PG_PASSWORD=$(cat "$SECRET")
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$PG_PORT" >/dev/null <<SQL
SELECT 'CREATE ROLE gridplan_ci LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridplan_ci') \gexec
ALTER ROLE gridplan_ci PASSWORD '$PG_PASSWORD';
SELECT 'CREATE DATABASE gridplan_test OWNER gridplan_ci' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'gridplan_test') \gexec
SQL
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d gridplan_test -c 'CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null
echo "export GRIDPLAN_TEST_PG=postgresql://gridplan_ci:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/gridplan_test"
