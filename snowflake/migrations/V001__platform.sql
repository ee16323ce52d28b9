-- V001 — the platform's Snowflake objects: budget, landing integration, warehouses, database,
-- one schema per warehouse layer (and its shadow twin), stages. Roles and grants are V002.
--
-- Additive and idempotent: every statement is `create ... if not exists` (or sets a property
-- on an object this file creates), so it can run again and never renames, drops, replaces or
-- repoints anything that exists. An object that already exists keeps its own properties: a
-- NORTHSTAR_WH or NORTHSTAR made earlier by hand (the former grants_preferences.sql created
-- both) keeps its size and retention; see snowflake/README.md to align them.
--
-- Run first, as a user holding ACCOUNTADMIN (the resource monitor, the storage integration
-- and assigning a monitor to a warehouse need it; everything else is created as SYSADMIN,
-- which then owns it), with snowsql variable substitution for the two placeholders:
--
--   snowsql -o variable_substitution=true \
--       -D landing_bucket=<landing bucket name> \
--       -D landing_role_arn=<ARN of the IAM role Snowflake assumes to read the bucket> \
--       -f snowflake/migrations/V001__platform.sql
--
-- then V002__access.sql (as SECURITYADMIN). Undo: snowflake/rollback/V001__rollback.sql.
--
-- Creates:
--   resource monitor   NORTHSTAR_MONTHLY     2,000 credits a month over both warehouses
--   storage integration NORTHSTAR_S3_LANDING s3://<landing_bucket>/northstar/ (USAGE to SYSADMIN)
--   warehouses         NORTHSTAR_WH (MEDIUM, pipeline runs), NORTHSTAR_BI_WH (XSMALL, dashboards)
--   database           NORTHSTAR, time travel 7 days
--   schemas            RAW STAGING CURATED AUDIT REMEDIATION MARTS OPS BI (inherit 7 days) and
--                      their <LAYER>_SHADOW twins (1 day: a shadow build is a rebuildable copy)
--   stages             NORTHSTAR.RAW.LANDING (external, the landing zone),
--                      NORTHSTAR.REMEDIATION.PREFERENCE_EXPORT (internal, preference patches)
--
-- Not created here, by design: the `<schema>_VERIFY` scratch schemas (verify-reproducible
-- creates and drops them at run time; V002 gives NORTHSTAR_PIPELINE CREATE SCHEMA for that),
-- tables and views (dbt and the Python assets create them, owned by NORTHSTAR_PIPELINE).

-- ------------------------------------------------------------------------------------------
-- Account-level objects (ACCOUNTADMIN only)
-- ------------------------------------------------------------------------------------------

use role accountadmin;

-- Budget. The platform's whole extra budget is $18,000 a month; docs/capacity-and-cost.md
-- plans 1,309 credits a month of compute and $5,751 of everything else (storage, S3, AWS)
-- at the seed's volumes. The quota is that need x 1.5, rounded: 2,000 credits = $6,000 at
-- $3.00 (Enterprise edition, on-demand list price per credit; use your contract's rate).
-- SUSPEND lets running statements finish, so usage can pass 100%; SUSPEND_IMMEDIATE at 110%
-- is the hard stop: 2,200 credits = $6,600 at $3 ($8,800 at $4, Business Critical), which
-- with the plan's $5,751 stays under $18,000 ($12,351; $14,551 at $4). In hours:
-- NORTHSTAR_WH (MEDIUM) burns 4 credits/hour, NORTHSTAR_BI_WH (XSMALL) 1, so the quota is
-- e.g. 400 pipeline hours + 400 dashboard hours a month. NOTIFY mails the account
-- administrators who enabled notifications; raise the quota only with the cost plan.
create resource monitor if not exists NORTHSTAR_MONTHLY with
    credit_quota = 2000
    frequency = monthly
    start_timestamp = immediately
    triggers
        on 75 percent do notify
        on 90 percent do notify
        on 100 percent do suspend
        on 110 percent do suspend_immediate;

-- The landing zone (DESIGN §2) in S3. Snowflake assumes `landing_role_arn`; after this runs,
-- `desc integration NORTHSTAR_S3_LANDING` gives the IAM user ARN and external id to put in
-- that role's trust policy (snowflake/README.md).
create storage integration if not exists NORTHSTAR_S3_LANDING
    type = external_stage
    storage_provider = 'S3'
    enabled = true
    storage_aws_role_arn = '&{landing_role_arn}'
    storage_allowed_locations = ('s3://&{landing_bucket}/northstar/')
    comment = 'Northstar landing zone: the platform reads source drops and writes exports here';

-- SYSADMIN creates (and owns) the external stage below, which needs USAGE on the integration.
grant usage on integration NORTHSTAR_S3_LANDING to role sysadmin;

-- ------------------------------------------------------------------------------------------
-- Warehouses, database, schemas, stages (SYSADMIN owns them)
-- ------------------------------------------------------------------------------------------

use role sysadmin;

-- Both start suspended and suspend after 60 idle seconds: a warehouse costs nothing between
-- runs. Sizes are what the capacity plan assumes; resize later with `alter warehouse`.
create warehouse if not exists NORTHSTAR_WH with
    warehouse_size = 'MEDIUM'
    auto_suspend = 60
    auto_resume = true
    initially_suspended = true
    comment = 'Northstar pipeline runs (dbt and the Python assets)';

create warehouse if not exists NORTHSTAR_BI_WH with
    warehouse_size = 'XSMALL'
    auto_suspend = 60
    auto_resume = true
    initially_suspended = true
    comment = 'Northstar dashboards: the BI views and marts';

-- Time travel: 7 days of UNDROP and AT/BEFORE on every layer (schemas inherit it).
create database if not exists NORTHSTAR
    data_retention_time_in_days = 7
    comment = 'Northstar data platform: one schema per warehouse layer (DESIGN §2)';

-- The layers (northstar_platform/layers.py `Layer`, schema = layer, upper-cased as Snowflake
-- stores unquoted names) and BI, the dbt views dashboards query (dbt/models/bi).
create schema if not exists NORTHSTAR.RAW
    comment = 'Source data exactly as landed (append-only raw_* tables)';
create schema if not exists NORTHSTAR.STAGING
    comment = 'Validated rows (stg_*) and quarantined ones';
create schema if not exists NORTHSTAR.CURATED
    comment = 'Latest state per entity (*_latest) and intermediate models';
create schema if not exists NORTHSTAR.AUDIT
    comment = 'Mismatch audits, publication gates, root causes';
create schema if not exists NORTHSTAR.REMEDIATION
    comment = 'Correction deltas, the core-update ledger and ack log (pipeline only)';
create schema if not exists NORTHSTAR.MARTS
    comment = 'Published facts and dimensions';
create schema if not exists NORTHSTAR.OPS
    comment = 'Run log, alerts, parity reports, corrections, pipeline state';
create schema if not exists NORTHSTAR.BI
    comment = 'Stable views the dashboards query (repointed by cutover/rollback)';

-- Shadow mode (README "Shadow mode"): the same graph built beside production. A shadow build
-- can always be rebuilt, so one day of time travel is enough.
create schema if not exists NORTHSTAR.RAW_SHADOW
    data_retention_time_in_days = 1 comment = 'Shadow build of RAW';
create schema if not exists NORTHSTAR.STAGING_SHADOW
    data_retention_time_in_days = 1 comment = 'Shadow build of STAGING';
create schema if not exists NORTHSTAR.CURATED_SHADOW
    data_retention_time_in_days = 1 comment = 'Shadow build of CURATED';
create schema if not exists NORTHSTAR.AUDIT_SHADOW
    data_retention_time_in_days = 1 comment = 'Shadow build of AUDIT';
create schema if not exists NORTHSTAR.REMEDIATION_SHADOW
    data_retention_time_in_days = 1 comment = 'Shadow build of REMEDIATION (pipeline only)';
create schema if not exists NORTHSTAR.MARTS_SHADOW
    data_retention_time_in_days = 1 comment = 'Shadow build of MARTS (cutover repoints BI here)';
create schema if not exists NORTHSTAR.OPS_SHADOW
    data_retention_time_in_days = 1 comment = 'Shadow build pipeline state (run records: OPS)';
create schema if not exists NORTHSTAR.BI_SHADOW
    data_retention_time_in_days = 1 comment = 'Shadow build of the BI views';

-- The landing zone as an external stage: COPY INTO from source drops, unload of exports.
create stage if not exists NORTHSTAR.RAW.LANDING
    url = 's3://&{landing_bucket}/northstar/'
    storage_integration = NORTHSTAR_S3_LANDING
    comment = 'The S3 landing zone (s3://<landing_bucket>/northstar/)';

-- Preference patches (remediation.core_update_ledger's files) when they are written from
-- Snowflake: in REMEDIATION, so only NORTHSTAR_PIPELINE can read or write them (V002).
create stage if not exists NORTHSTAR.REMEDIATION.PREFERENCE_EXPORT
    comment = 'Core-update patch files of the preference reconciliation';

-- ------------------------------------------------------------------------------------------
-- Budget on both warehouses (assigning a monitor needs ACCOUNTADMIN)
-- ------------------------------------------------------------------------------------------

use role accountadmin;

alter warehouse NORTHSTAR_WH set resource_monitor = NORTHSTAR_MONTHLY;
alter warehouse NORTHSTAR_BI_WH set resource_monitor = NORTHSTAR_MONTHLY;
