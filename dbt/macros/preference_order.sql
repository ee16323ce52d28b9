{#- DESIGN §8's total orders, written once: privacy_latest / core_latest and the audit's replay
    of an older date rank with the same clause. -#}

{#- The privacy system's latest event per (customer_key, channel) comes first. -#}
{% macro privacy_event_order() -%}
    event_ts desc, ingested_ts desc, source_record_id desc
{%- endmacro %}

{#- The core system's latest row per (customer_key, channel) comes first; OPT_OUT on a full tie. -#}
{% macro core_row_order() -%}
    updated_ts desc, ingested_ts desc, case when preference_state = 'OPT_OUT' then 0 else 1 end
{%- endmacro %}
