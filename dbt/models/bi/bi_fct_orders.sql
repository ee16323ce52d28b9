{{ config(alias='fct_orders') }}

{#- The stable name dashboards query. A rebuild replaces marts.fct_orders in place and a cutover
    (shadow mode) repoints this view; the dashboard's query never changes. -#}
select * from {{ ref('fct_orders') }}
