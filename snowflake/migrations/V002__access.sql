-- V002 — roles and grants: who may do what in NORTHSTAR (least privilege).
--
--   NORTHSTAR_PIPELINE      the platform's runs (dbt and the Python assets, production and
--                           shadow builds): reads and writes every layer, creates tables and
--                           views in them, creates the `<schema>_VERIFY` scratch schemas of
--                           verify-reproducible (CREATE SCHEMA on the database), reads and
--                           writes the stages. Owns every table and view it creates. Nothing at
--                           account level, never the owner of the database or its schemas.
--   NORTHSTAR_INVESTIGATOR  people looking into a mismatch: read-only (SELECT) on the tables
--                           and views of every layer except REMEDIATION and its shadow twin,
--                           so they can read why a record was classified but cannot see,
--                           generate, alter or re-send a patch; no stage at all, so no export
--                           either (the rules of the former grants_preferences.sql, seed 000
--                           "Security and compliance").
--   NORTHSTAR_BI            dashboards: read-only on MARTS and BI, its own warehouse.
--
-- Future grants (per schema) cover every table and view dbt or the pipeline creates later, so
-- a new model or a rebuilt table needs no new grant. Additive and idempotent: roles `if not
-- exists`, a grant already held is a no-op; nothing is revoked here. The investigator's
-- "nothing in remediation" is also re-asserted by the repeatable
-- snowflake/repeatable/R__investigator_remediation_revokes.sql, which undoes grants added by
-- hand.
--
-- Run after V001, as a user holding SECURITYADMIN (MANAGE GRANTS: it grants on objects
-- SYSADMIN owns and defines future grants):
--
--   snowsql -f snowflake/migrations/V002__access.sql
--
-- then give the roles to users, e.g. `grant role NORTHSTAR_PIPELINE to user <service user>`.
-- Undo: snowflake/rollback/V002__rollback.sql.

use role securityadmin;

create role if not exists NORTHSTAR_PIPELINE
    comment = 'Northstar platform runs: builds every layer, writes remediation and exports';
create role if not exists NORTHSTAR_INVESTIGATOR
    comment = 'Reads every layer but remediation; no access to remediation or exports';
create role if not exists NORTHSTAR_BI
    comment = 'Dashboards: reads MARTS and BI';

-- SYSADMIN inherits the roles, so it can manage what they own (Snowflake's recommended tree).
grant role NORTHSTAR_PIPELINE to role sysadmin;
grant role NORTHSTAR_INVESTIGATOR to role sysadmin;
grant role NORTHSTAR_BI to role sysadmin;

-- -----------------------------------------------------------------------------------------
-- Database and warehouses
-- -----------------------------------------------------------------------------------------

grant usage, create schema on database NORTHSTAR to role NORTHSTAR_PIPELINE;
grant usage on database NORTHSTAR to role NORTHSTAR_INVESTIGATOR;
grant usage on database NORTHSTAR to role NORTHSTAR_BI;

grant usage on warehouse NORTHSTAR_WH to role NORTHSTAR_PIPELINE;
grant usage on warehouse NORTHSTAR_WH to role NORTHSTAR_INVESTIGATOR;
grant usage on warehouse NORTHSTAR_BI_WH to role NORTHSTAR_BI;

-- -----------------------------------------------------------------------------------------
-- NORTHSTAR_PIPELINE: every layer and its shadow twin
-- -----------------------------------------------------------------------------------------
-- The tables and views it creates are its own (OWNERSHIP); the grants on all/future tables
-- cover tables someone else created (a hand-made fix, a restored clone). REMEDIATION's
-- core_update_ledger is append-only by contract (no platform code deletes from it); DELETE
-- stays granted because dbt's incremental models need it there.

grant usage, create table, create view on schema NORTHSTAR.RAW
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.RAW to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.RAW to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.STAGING
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.STAGING to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.STAGING to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.CURATED
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.CURATED to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.CURATED to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.AUDIT
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.AUDIT to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.AUDIT to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.REMEDIATION
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.REMEDIATION to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.REMEDIATION to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.MARTS
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.MARTS to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.MARTS to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.OPS
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.OPS to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.OPS to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.BI
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.BI to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.BI to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.RAW_SHADOW
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.RAW_SHADOW to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.RAW_SHADOW to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.STAGING_SHADOW
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.STAGING_SHADOW to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.STAGING_SHADOW to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.CURATED_SHADOW
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.CURATED_SHADOW to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.CURATED_SHADOW to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.AUDIT_SHADOW
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.AUDIT_SHADOW to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.AUDIT_SHADOW to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.REMEDIATION_SHADOW
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.REMEDIATION_SHADOW to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.REMEDIATION_SHADOW to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.MARTS_SHADOW
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.MARTS_SHADOW to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.MARTS_SHADOW to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.OPS_SHADOW
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.OPS_SHADOW to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.OPS_SHADOW to role NORTHSTAR_PIPELINE;

grant usage, create table, create view on schema NORTHSTAR.BI_SHADOW
    to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on all tables in schema NORTHSTAR.BI_SHADOW to role NORTHSTAR_PIPELINE;
grant select, insert, update, delete, truncate
    on future tables in schema NORTHSTAR.BI_SHADOW to role NORTHSTAR_PIPELINE;
-- The preference export: patch files into the internal stage, and the landing zone (source
-- drops read by COPY INTO, exports unloaded to it) through the external stage. CREATE STAGE
-- in REMEDIATION: a stage the pipeline makes there is its own and no other role can read it.
grant create stage on schema NORTHSTAR.REMEDIATION to role NORTHSTAR_PIPELINE;
grant read, write on stage NORTHSTAR.REMEDIATION.PREFERENCE_EXPORT to role NORTHSTAR_PIPELINE;
grant usage on stage NORTHSTAR.RAW.LANDING to role NORTHSTAR_PIPELINE;

-- -----------------------------------------------------------------------------------------
-- NORTHSTAR_INVESTIGATOR: SELECT on every layer except REMEDIATION and REMEDIATION_SHADOW
-- -----------------------------------------------------------------------------------------
-- Deliberately absent: any privilege on REMEDIATION or REMEDIATION_SHADOW, on any stage, and
-- any write (INSERT, UPDATE, DELETE, TRUNCATE, CREATE, OWNERSHIP).

grant usage on schema NORTHSTAR.RAW to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.RAW to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.RAW to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.RAW to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.RAW to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.STAGING to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.STAGING to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.STAGING to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.STAGING to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.STAGING to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.CURATED to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.CURATED to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.CURATED to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.CURATED to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.CURATED to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.AUDIT to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.AUDIT to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.AUDIT to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.AUDIT to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.AUDIT to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.MARTS to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.MARTS to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.MARTS to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.MARTS to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.MARTS to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.OPS to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.OPS to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.OPS to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.OPS to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.OPS to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.BI to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.BI to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.BI to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.BI to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.BI to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.RAW_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.RAW_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.RAW_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.RAW_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.RAW_SHADOW to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.STAGING_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.STAGING_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.STAGING_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.STAGING_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.STAGING_SHADOW to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.CURATED_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.CURATED_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.CURATED_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.CURATED_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.CURATED_SHADOW to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.AUDIT_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.AUDIT_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.AUDIT_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.AUDIT_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.AUDIT_SHADOW to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.MARTS_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.MARTS_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.MARTS_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.MARTS_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.MARTS_SHADOW to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.OPS_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.OPS_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.OPS_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.OPS_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.OPS_SHADOW to role NORTHSTAR_INVESTIGATOR;

grant usage on schema NORTHSTAR.BI_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all tables in schema NORTHSTAR.BI_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on all views in schema NORTHSTAR.BI_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future tables in schema NORTHSTAR.BI_SHADOW to role NORTHSTAR_INVESTIGATOR;
grant select on future views in schema NORTHSTAR.BI_SHADOW to role NORTHSTAR_INVESTIGATOR;
-- -----------------------------------------------------------------------------------------
-- NORTHSTAR_BI: SELECT on MARTS and BI only
-- -----------------------------------------------------------------------------------------
-- The BI views read MARTS (or MARTS_SHADOW after a cutover) with their owner's rights
-- (NORTHSTAR_PIPELINE), so dashboards need nothing on MARTS_SHADOW.

grant usage on schema NORTHSTAR.MARTS to role NORTHSTAR_BI;
grant select on all tables in schema NORTHSTAR.MARTS to role NORTHSTAR_BI;
grant select on all views in schema NORTHSTAR.MARTS to role NORTHSTAR_BI;
grant select on future tables in schema NORTHSTAR.MARTS to role NORTHSTAR_BI;
grant select on future views in schema NORTHSTAR.MARTS to role NORTHSTAR_BI;

grant usage on schema NORTHSTAR.BI to role NORTHSTAR_BI;
grant select on all tables in schema NORTHSTAR.BI to role NORTHSTAR_BI;
grant select on all views in schema NORTHSTAR.BI to role NORTHSTAR_BI;
grant select on future tables in schema NORTHSTAR.BI to role NORTHSTAR_BI;
grant select on future views in schema NORTHSTAR.BI to role NORTHSTAR_BI;
