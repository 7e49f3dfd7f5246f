#!/bin/sh
# Installs or upgrades Temporal's PostgreSQL schemas; run by the one-off temporal-admin-tools
# service before the server starts (the documented way for the temporalio/server image).
# The databases and the "temporal" role come from postgres/init.sql, so nothing is created
# here; update-schema is a no-op when the schema is current, so every `up` may run this.
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
SCHEMA=/etc/temporal/schema/postgresql/v12

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" \
    -u "$POSTGRES_USER" --db "$1" "$2" "$3" "$4"
}

for db in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  name=${db%%:*}
  kind=${db##*:}
  # setup-schema -v 0.0 creates the version table on an empty database and is harmless after.
  sql "$name" setup-schema -v 0.0
  sql "$name" update-schema -d "$SCHEMA/$kind/versioned"
done
echo "Temporal schemas are current"
