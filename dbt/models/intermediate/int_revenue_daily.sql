{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ in_business_window('business_date') }}{% endif %}",
    )
}}

{#- Recognized gross revenue per business date (UTC day of created_at) and currency, before
    publication: live orders in status paid, shipped or delivered, without the duplicates the
    audit found open. audit_revenue_variance compares it with finance; fct_daily_revenue
    publishes it for the dates whose gates pass. Replaces the window on every run. -#}

with orders as (

    select * from {{ ref('orders_latest') }}

),

duplicates as (

    select order_id from {{ ref('audit_order_mismatches') }}
    where mismatch_type = 'DUPLICATE_ORDER' and not is_cleared

),

recognized as (

    select
        cast(created_at as date) as business_date,
        currency,
        amount_cents
    from orders
    where not is_deleted
      and status in ('paid', 'shipped', 'delivered')
      and order_id not in (select order_id from duplicates)
      and {{ in_business_window('cast(created_at as date)') }}

)

select
    cast(business_date as date) as business_date,
    cast(currency as varchar) as currency,
    cast(count(*) as bigint) as orders,
    cast(sum(amount_cents) as bigint) as gross_revenue_cents
from recognized
group by business_date, currency
