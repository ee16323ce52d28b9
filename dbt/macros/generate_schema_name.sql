{#- The schema is the layer, verbatim (STYLE.md): asset key = [layer, table]. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
