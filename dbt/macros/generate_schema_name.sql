{#- The schema is the layer, verbatim (STYLE.md): asset key = [layer, table].
    `schema_suffix` (`_shadow` in shadow mode) moves every node next to production, as layers.py
    moves Python's tables. `verify_models` (northstar verify-reproducible) names the models
    rebuilt into a scratch `<schema>_verify`; every other ref() still resolves to the
    environment's schema, so the rebuild reads the stored inputs. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set layer = custom_schema_name if custom_schema_name is not none else target.schema -%}
    {%- set schema = layer ~ var('schema_suffix', '') -%}
    {%- if node is not none and node.name in var('verify_models', []) -%}
        {{ schema ~ '_verify' }}
    {%- else -%}
        {{ schema }}
    {%- endif -%}
{%- endmacro %}
