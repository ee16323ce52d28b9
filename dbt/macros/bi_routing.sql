{#- The relation a stable BI view reads: its marts model, unless `ops.bi_view_routing` (written
    by `northstar cutover` / `northstar rollback`, layers.BI_VIEW_ROUTING) routes the view to
    another build of the same table, the shadow build's marts. So a production dbt build after
    a cutover keeps the view where the cutover put it; without the table or a row for the view
    it reads marts, as always. Only production's views are routed: a shadow build's bi views
    read its own marts. `ref` is called first, always, so the lineage stays the model's. -#}
{% macro bi_routed_ref(model_name) -%}
    {%- set production = ref(model_name) -%}
    {%- if not execute or this.schema | lower != 'bi' -%}
        {{ return(production) }}
    {%- endif -%}
    {%- set routing = adapter.get_relation(
        database=production.database, schema='ops', identifier='bi_view_routing') -%}
    {%- if routing is none -%}
        {{ return(production) }}
    {%- endif -%}
    {%- set query -%}
        select source_schema from {{ routing }} where view_name = '{{ this.identifier }}'
    {%- endset -%}
    {%- set routed_schema = run_query(query).columns[0].values() | first -%}
    {%- if not routed_schema or routed_schema | lower == production.schema | lower -%}
        {{ return(production) }}
    {%- endif -%}
    {%- set routed = adapter.get_relation(
        database=production.database, schema=routed_schema, identifier=production.identifier) -%}
    {%- if routed is none -%}
        {{ exceptions.raise_compiler_error(
            "ops.bi_view_routing points bi." ~ this.identifier ~ " at " ~ routed_schema ~ "."
            ~ production.identifier ~ ", which does not exist: rebuild it or `northstar rollback`") }}
    {%- endif -%}
    {{ return(routed) }}
{%- endmacro %}
