{#- Who evaluated a row and when: the Dagster run id (passed as a var) and dbt's start time.
    Bookkeeping only: never part of a content fingerprint (DESIGN §5.2). -#}

{% macro current_run_id() -%}
    cast('{{ var("run_id") }}' as varchar)
{%- endmacro %}

{% macro current_run_ts() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}

{#- The business dates of this run's window (lookback and lookahead, as the audit) whose
    every publication gate passed. The day after the window is published too, so a change
    that reaches it (a duplicate across midnight) converges whatever order days are run in; a
    day whose own partition is not processed yet has no orders, so it publishes nothing. -#}
{% macro publishable_dates() -%}
    select business_date
    from {{ ref('audit_publication_gates') }}
    where {{ in_business_window('business_date') }}
    group by business_date
    having min(case when passed then 1 else 0 end) = 1
{%- endmacro %}
