{#- Date and time arithmetic differs between DuckDB and Snowflake: dispatch hides it. -#}

{% macro add_days(expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'northstar')(expression, days)) }}
{%- endmacro %}

{% macro default__add_days(expression, days) -%}
    dateadd(day, {{ days }}, {{ expression }})
{%- endmacro %}

{% macro duckdb__add_days(expression, days) -%}
    (cast({{ expression }} as date) + to_days(cast({{ days }} as integer)))
{%- endmacro %}

{% macro add_seconds(expression, seconds) -%}
    {{ return(adapter.dispatch('add_seconds', 'northstar')(expression, seconds)) }}
{%- endmacro %}

{% macro default__add_seconds(expression, seconds) -%}
    dateadd(second, {{ seconds }}, {{ expression }})
{%- endmacro %}

{% macro duckdb__add_seconds(expression, seconds) -%}
    ({{ expression }} + to_seconds(cast({{ seconds }} as bigint)))
{%- endmacro %}

{#- The partition window of this invocation, widened by the lookback for business dates. -#}
{% macro window_start(lookback=false) -%}
    {%- if lookback -%}
        {{ add_days("cast('" ~ var('min_date') ~ "' as date)", -1 * var('lookback_days') | int) }}
    {%- else -%}
        cast('{{ var("min_date") }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- `lookahead` adds one day: a changed order can make an order created up to
    duplicate_window_seconds (< 1 day) after it a DUPLICATE_ORDER, or stop it being one, so
    the business date after the window must be re-evaluated too, or partitions applied out of
    order would not converge. -#}
{% macro window_end(lookahead=false) -%}
    {%- if lookahead -%}
        {{ add_days("cast('" ~ var('max_date') ~ "' as date)", 1) }}
    {%- else -%}
        cast('{{ var("max_date") }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- A business-date column inside the window this run re-evaluates (lookback and lookahead). -#}
{% macro in_business_window(expression) -%}
    {{ expression }} >= {{ window_start(lookback=true) }} and {{ expression }} < {{ window_end(lookahead=true) }}
{%- endmacro %}

{#- A landing partition key ('YYYY-MM-DD' or 'YYYY-MM-DD-HH:MM') inside [min_date, max_date). -#}
{% macro in_landing_window(column) -%}
    {{ column }} >= '{{ var("min_date") }}' and {{ column }} < '{{ var("max_date") }}'
{%- endmacro %}

{#- Seconds from `start` to `stop` as a number, the same on DuckDB and Snowflake. -#}
{% macro seconds_between(start, stop) -%}
    {{ dbt.datediff(start, stop, 'second') }}
{%- endmacro %}

{#- The reconciliation date of a preference run: the window's last day ([min_date, max_date)
    holds one day when Dagster runs it per partition). -#}
{% macro recon_date() -%}
    cast({{ add_days("cast('" ~ var('max_date') ~ "' as date)", -1) }} as date)
{%- endmacro %}
