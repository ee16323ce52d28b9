-- Repeatable — NORTHSTAR_INVESTIGATOR holds nothing in REMEDIATION or REMEDIATION_SHADOW.
--
-- V002 never grants the investigator anything there; this file removes whatever someone
-- granted by hand since, so the rule of the preference reconciliation (seed 000, "Security
-- and compliance": an investigator can read why a record was classified but cannot see,
-- generate, alter or re-send a patch) holds after every run. It is not a migration: it only
-- revokes, creates nothing and has no rollback. Revoking a privilege that is not held is a
-- no-op, so it can run any time; run it after the versioned migrations, as SECURITYADMIN:
--
--   snowsql -f snowflake/repeatable/R__investigator_remediation_revokes.sql

use role securityadmin;

revoke all privileges on schema NORTHSTAR.REMEDIATION from role NORTHSTAR_INVESTIGATOR;
revoke all privileges on all tables in schema NORTHSTAR.REMEDIATION
    from role NORTHSTAR_INVESTIGATOR;
revoke all privileges on all views in schema NORTHSTAR.REMEDIATION
    from role NORTHSTAR_INVESTIGATOR;
revoke all privileges on all stages in schema NORTHSTAR.REMEDIATION
    from role NORTHSTAR_INVESTIGATOR;
revoke all privileges on future tables in schema NORTHSTAR.REMEDIATION
    from role NORTHSTAR_INVESTIGATOR;
revoke all privileges on future views in schema NORTHSTAR.REMEDIATION
    from role NORTHSTAR_INVESTIGATOR;

revoke all privileges on schema NORTHSTAR.REMEDIATION_SHADOW from role NORTHSTAR_INVESTIGATOR;
revoke all privileges on all tables in schema NORTHSTAR.REMEDIATION_SHADOW
    from role NORTHSTAR_INVESTIGATOR;
revoke all privileges on all views in schema NORTHSTAR.REMEDIATION_SHADOW
    from role NORTHSTAR_INVESTIGATOR;
revoke all privileges on all stages in schema NORTHSTAR.REMEDIATION_SHADOW
    from role NORTHSTAR_INVESTIGATOR;
revoke all privileges on future tables in schema NORTHSTAR.REMEDIATION_SHADOW
    from role NORTHSTAR_INVESTIGATOR;
revoke all privileges on future views in schema NORTHSTAR.REMEDIATION_SHADOW
    from role NORTHSTAR_INVESTIGATOR;
