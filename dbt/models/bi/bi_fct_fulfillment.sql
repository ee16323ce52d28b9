{{ config(alias='fct_fulfillment') }}

{#- The stable name dashboards query. A rebuild replaces marts.fct_fulfillment in place and a cutover
    (shadow mode) repoints this view; the dashboard's query never changes. -#}
select * from {{ ref('fct_fulfillment') }}
