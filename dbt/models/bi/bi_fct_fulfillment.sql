{{ config(alias='fct_fulfillment') }}

{#- The stable name dashboards query. A rebuild replaces marts.fct_fulfillment in place;
    `northstar cutover` repoints this view to the shadow build's fct_fulfillment and `northstar
    rollback` back, through ops.bi_view_routing, which every later build of this view honours
    (macro bi_routed_ref). The dashboard's query never changes. -#}
select * from {{ bi_routed_ref('fct_fulfillment') }}
