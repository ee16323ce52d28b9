{{ config(alias='fct_daily_revenue') }}

{#- The stable name dashboards query. A rebuild replaces marts.fct_daily_revenue in place and a cutover
    (shadow mode) repoints this view; the dashboard's query never changes. -#}
select * from {{ ref('fct_daily_revenue') }}
