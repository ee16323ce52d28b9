-- Rollback of V001 (the platform's objects): drops exactly what V001 created, in reverse
-- order. Run V002's rollback first, then this, as a user holding ACCOUNTADMIN:
--
--   snowsql -f snowflake/rollback/V001__rollback.sql
--
-- WHAT IT DESTROYS: ALL NORTHSTAR DATA. Every table and view of every layer (RAW, STAGING,
-- CURATED, AUDIT, REMEDIATION including the core-update ledger and ack log, MARTS, OPS with
-- the run log, alerts, parity reports and the append-only audit_corrections, BI) and of every
-- shadow twin; the files in the internal stage PREFERENCE_EXPORT (not recoverable: a dropped
-- stage's files are gone); any `<schema>_VERIFY` scratch schema left behind (they live in the
-- database). The files in the S3 landing bucket are NOT touched: the external stage and the
-- integration are only pointers. Both warehouses and the resource monitor go too (no data).
--
-- Recovery window: time travel. `undrop database NORTHSTAR` (or `undrop schema`) restores
-- the data within DATA_RETENTION_TIME_IN_DAYS: 7 days for the layers, 1 day for the shadow
-- schemas. Warehouses, the monitor, the integration and the stages cannot be undropped; V001
-- recreates them (the integration with a new external id: update the IAM trust policy).
--
-- If NORTHSTAR or NORTHSTAR_WH existed before V001 ran (the former grants_preferences.sql
-- created both by hand), V001 did not create them and this file would still drop them: drop
-- only the schemas, stages and objects V001 did create instead.

-- ------------------------------------------------------------------------------------------
-- Stages, schemas, database, warehouses (SYSADMIN owns them)
-- ------------------------------------------------------------------------------------------

use role sysadmin;

drop stage if exists NORTHSTAR.REMEDIATION.PREFERENCE_EXPORT;
drop stage if exists NORTHSTAR.RAW.LANDING;

drop schema if exists NORTHSTAR.BI_SHADOW cascade;
drop schema if exists NORTHSTAR.OPS_SHADOW cascade;
drop schema if exists NORTHSTAR.MARTS_SHADOW cascade;
drop schema if exists NORTHSTAR.REMEDIATION_SHADOW cascade;
drop schema if exists NORTHSTAR.AUDIT_SHADOW cascade;
drop schema if exists NORTHSTAR.CURATED_SHADOW cascade;
drop schema if exists NORTHSTAR.STAGING_SHADOW cascade;
drop schema if exists NORTHSTAR.RAW_SHADOW cascade;

drop schema if exists NORTHSTAR.BI cascade;
drop schema if exists NORTHSTAR.OPS cascade;
drop schema if exists NORTHSTAR.MARTS cascade;
drop schema if exists NORTHSTAR.REMEDIATION cascade;
drop schema if exists NORTHSTAR.AUDIT cascade;
drop schema if exists NORTHSTAR.CURATED cascade;
drop schema if exists NORTHSTAR.STAGING cascade;
drop schema if exists NORTHSTAR.RAW cascade;

drop database if exists NORTHSTAR cascade;

drop warehouse if exists NORTHSTAR_BI_WH;
drop warehouse if exists NORTHSTAR_WH;

-- ------------------------------------------------------------------------------------------
-- Account-level objects (ACCOUNTADMIN)
-- ------------------------------------------------------------------------------------------

use role accountadmin;

revoke usage on integration NORTHSTAR_S3_LANDING from role sysadmin;
drop storage integration if exists NORTHSTAR_S3_LANDING;

drop resource monitor if exists NORTHSTAR_MONTHLY;
