#!/usr/bin/env bash
# Services the tests use, from Debian's packages: headless Chromium (map tests) and PostgreSQL with PostGIS
# (plan storage tests), on loopback only. Prints the DSN export for the tests; run as root on a fresh machine.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-wqy-zenhei >/dev/null
fi
if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql postgis >/dev/null
fi
PG_VERSION=$(ls /usr/lib/postgresql | sort -V | tail -1)
pg_ctlcluster "$PG_VERSION" main status >/dev/null 2>&1 || pg_ctlcluster "$PG_VERSION" main start >&2  # stdout carries only the export
PG_PORT=$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {print $3}')
PG_PASSWORD=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$PG_PORT" >/dev/null <<SQL
SELECT 'CREATE ROLE gridplan_ci LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridplan_ci') \gexec
ALTER ROLE gridplan_ci PASSWORD '$PG_PASSWORD';
SELECT 'CREATE DATABASE gridplan_test OWNER gridplan_ci' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'gridplan_test') \gexec
SQL
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d gridplan_test -c 'CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null
echo "export GRIDPLAN_TEST_PG=postgresql://gridplan_ci:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/gridplan_test"
