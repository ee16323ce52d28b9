-- Access control of the preference reconciliation (seed 000, "Security and compliance").
--
--   NORTHSTAR_PIPELINE      the platform's runs (dbt and the Python assets): builds curated,
--                           audit and remediation, writes the core-update ledger and ack log,
--                           and is the only role that can write the export stage.
--   NORTHSTAR_INVESTIGATOR  people looking into a mismatch: read-only on the audit schema's
--                           tables, nothing in remediation, so they can read why a record was
--                           classified but cannot generate, alter or re-send a patch.
--
-- Idempotent: every statement can run again (roles `if not exists`, grants are no-ops when
-- held). Future grants cover tables dbt and the pipeline create later, so a new model or a
-- rebuilt table needs no new grant. Run as a user holding SECURITYADMIN and SYSADMIN:
--   snowsql -f snowflake/grants_preferences.sql
--
-- Names: database NORTHSTAR (NORTHSTAR_SNOWFLAKE_DATABASE's default), warehouse NORTHSTAR_WH;
-- change them here if yours differ. Schemas are the layer names of DESIGN §7, unquoted.

use role sysadmin;
create warehouse if not exists NORTHSTAR_WH
    warehouse_size = xsmall auto_suspend = 60 initially_suspended = true;
create database if not exists NORTHSTAR;
use database NORTHSTAR;
create schema if not exists STAGING;
create schema if not exists CURATED;
create schema if not exists AUDIT;
create schema if not exists REMEDIATION;

use role securityadmin;

create role if not exists NORTHSTAR_PIPELINE
    comment = 'Northstar platform runs: builds reconciliation tables, writes remediation and exports';
create role if not exists NORTHSTAR_INVESTIGATOR
    comment = 'Reads the preference mismatch audit; no access to remediation or exports';
grant role NORTHSTAR_PIPELINE to role sysadmin;
grant role NORTHSTAR_INVESTIGATOR to role sysadmin;

-- Both roles need the database and a warehouse to query with.
grant usage on database NORTHSTAR to role NORTHSTAR_PIPELINE;
grant usage on database NORTHSTAR to role NORTHSTAR_INVESTIGATOR;
grant usage on warehouse NORTHSTAR_WH to role NORTHSTAR_PIPELINE;
grant usage on warehouse NORTHSTAR_WH to role NORTHSTAR_INVESTIGATOR;

-- ---------------------------------------------------------------------------------------
-- NORTHSTAR_PIPELINE
-- ---------------------------------------------------------------------------------------

-- Reads the staged privacy events (its own ingestion writes them).
grant usage, create table on schema STAGING to role NORTHSTAR_PIPELINE;
grant select, insert, delete on all tables in schema STAGING to role NORTHSTAR_PIPELINE;
grant select, insert, delete on future tables in schema STAGING to role NORTHSTAR_PIPELINE;

-- Builds privacy_latest, core_latest and the scope seed (curated) and the mismatch audit.
grant usage, create table, create view on schema CURATED to role NORTHSTAR_PIPELINE;
grant usage, create table, create view on schema AUDIT to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate on all tables in schema CURATED
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate on future tables in schema CURATED
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate on all tables in schema AUDIT
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate on future tables in schema AUDIT
    to role NORTHSTAR_PIPELINE;

-- Remediation: remediation_core_updates (dbt), core_update_ledger and core_update_ack_log
-- (the export and ack assets). The ledger is append-only by contract (no platform code
-- deletes from it); DELETE stays granted because dbt's incremental models need it here.
grant usage, create table, create view, create stage on schema REMEDIATION
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate on all tables in schema REMEDIATION
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate on future tables in schema REMEDIATION
    to role NORTHSTAR_PIPELINE;

-- Exports stage: patch files go to the landing zone's exports/core_updates/ prefix (S3,
-- written by the pipeline's IAM identity, outside Snowflake). A Snowflake stage over that
-- prefix, if one is wanted, is created in REMEDIATION by NORTHSTAR_PIPELINE (CREATE STAGE
-- above), which then owns it: no other role of this file can read or write it. (No bulk
-- stage grant here: an external stage takes USAGE, an internal one READ/WRITE.)

-- ---------------------------------------------------------------------------------------
-- NORTHSTAR_INVESTIGATOR: the audit schema's tables, read-only; nothing else
-- ---------------------------------------------------------------------------------------

grant usage on schema AUDIT to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema AUDIT to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema AUDIT to role NORTHSTAR_INVESTIGATOR;

-- Deliberately absent: any privilege of NORTHSTAR_INVESTIGATOR on REMEDIATION, CURATED or
-- STAGING. Remediation is also revoked explicitly, so re-running this file undoes a grant
-- someone added there by hand.
revoke all privileges on schema REMEDIATION from role NORTHSTAR_INVESTIGATOR;
revoke all privileges on all tables in schema REMEDIATION from role NORTHSTAR_INVESTIGATOR;
