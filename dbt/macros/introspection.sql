{#- The one number a scalar query returns, at execution time (0 while dbt only parses). -#}
{% macro scalar(sql) -%}
    {%- if execute -%}
        {%- set result = run_query(sql) -%}
        {{ return(result.columns[0].values()[0] or 0) }}
    {%- else -%}
        {{ return(0) }}
    {%- endif -%}
{%- endmacro %}
