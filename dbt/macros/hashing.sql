{#- DESIGN §8: update_hash = lower-case hex sha256 of customer_key|channel|state|effective_ts,
    effective_ts rendered 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, six fractional digits, no offset),
    identically on DuckDB and Snowflake. -#}

{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'northstar')(expression)) }}
{%- endmacro %}

{% macro default__sha256_hex(expression) -%}
    lower(sha2({{ expression }}, 256))
{%- endmacro %}

{% macro duckdb__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{% macro timestamp_micros_text(expression) -%}
    {{ return(adapter.dispatch('timestamp_micros_text', 'northstar')(expression)) }}
{%- endmacro %}

{#- The explicit cast keeps the format on the Snowflake emulator too (fakesnow drops a
    to_varchar format on a bare column); on Snowflake it is a no-op for TIMESTAMP_NTZ. -#}
{% macro default__timestamp_micros_text(expression) -%}
    to_varchar(cast({{ expression }} as timestamp_ntz), 'YYYY-MM-DD HH24:MI:SS.FF6')
{%- endmacro %}

{% macro duckdb__timestamp_micros_text(expression) -%}
    strftime({{ expression }}, '%Y-%m-%d %H:%M:%S.%f')
{%- endmacro %}
