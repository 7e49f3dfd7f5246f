-- Runs once, when the PostgreSQL data volume is first initialised (docker-entrypoint-initdb.d).
-- Temporal and Warmline get separate roles and databases, so neither can read or lock the
-- other's tables and each can be moved to its own server later.
--
-- Passwords come from the container environment (psql \getenv, PostgreSQL 15+), never from
-- this file: TEMPORAL_DB_PASSWORD and WARMLINE_DB_PASSWORD are set in docker/.env.

\set ON_ERROR_STOP on
\getenv temporal_password TEMPORAL_DB_PASSWORD
\getenv warmline_password WARMLINE_DB_PASSWORD

CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE ROLE warmline LOGIN PASSWORD :'warmline_password';

-- Temporal's schema tool creates the tables (auto-setup with SKIP_DB_CREATE=true); owning the
-- databases gives it the CREATE rights on the public schema that PostgreSQL 15+ withholds.
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
CREATE DATABASE warmline OWNER warmline;

REVOKE ALL ON DATABASE temporal, temporal_visibility FROM PUBLIC;
REVOKE ALL ON DATABASE warmline FROM PUBLIC;
