-- Rollback of V002 (roles and grants): drops exactly the three roles V002 created, after
-- revoking them from SYSADMIN. Run it before V001's rollback, as SECURITYADMIN:
--
--   snowsql -f snowflake/rollback/V002__rollback.sql
--
-- What it destroys: no table data. Every privilege V002 granted (dropping a role revokes all
-- current and future grants naming it), so every user holding these roles loses access to
-- NORTHSTAR at once: pipeline runs, investigators and dashboards stop working.
-- What it moves: Snowflake hands every object a dropped role owns to the role running DROP
-- ROLE. NORTHSTAR_PIPELINE owns every table and view the platform built (and any leftover
-- `<schema>_VERIFY` schema), so they become SECURITYADMIN's. To apply V002 again afterwards,
-- give them back per schema, e.g.
--   grant ownership on all tables in schema NORTHSTAR.MARTS to role NORTHSTAR_PIPELINE
--       copy current grants;
-- (and `all views`), or dbt and the Python assets can no longer replace their own relations.
-- Roles cannot be undropped: V002 recreates them empty of users.

use role securityadmin;

revoke role NORTHSTAR_BI from role sysadmin;
revoke role NORTHSTAR_INVESTIGATOR from role sysadmin;
revoke role NORTHSTAR_PIPELINE from role sysadmin;

drop role if exists NORTHSTAR_BI;
drop role if exists NORTHSTAR_INVESTIGATOR;
drop role if exists NORTHSTAR_PIPELINE;
