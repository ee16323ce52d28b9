{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where business_date in ({{ publishable_dates() }}){% endif %}",
    )
}}

{#- Recognized gross revenue per business date and currency (int_revenue_daily), published
    only for the window's dates whose publication gates pass — revenue variance vs finance
    among them — so a date finance disagrees with keeps its last published figures. -#}

with revenue as (

    select * from {{ ref('int_revenue_daily') }}

),

published as (

    {{ publishable_dates() }}

)

select
    cast(r.business_date as date) as business_date,
    cast(r.currency as varchar) as currency,
    cast(r.orders as bigint) as orders,
    cast(r.gross_revenue_cents as bigint) as gross_revenue_cents
from revenue as r
inner join published as d on d.business_date = r.business_date
