{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where business_date >= {{ window_start(lookback=true) }} and business_date < {{ window_end(lookahead=true) }}{% endif %}",
    )
}}

{#- Recognized gross revenue per business date (UTC day of created_at) and currency: live
    orders in status paid, shipped or delivered, without the duplicates the audit found.
    Replaces the window [min_date - lookback_days, max_date + 1 day) on every run. -#}

with orders as (

    select * from {{ ref('orders_latest') }}

),

duplicates as (

    select order_id from {{ ref('audit_order_mismatches') }}
    where mismatch_type = 'DUPLICATE_ORDER'

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
      and cast(created_at as date) >= {{ window_start(lookback=true) }}
      and cast(created_at as date) < {{ window_end(lookahead=true) }}

)

select
    cast(business_date as date) as business_date,
    cast(currency as varchar) as currency,
    cast(count(*) as bigint) as orders,
    cast(sum(amount_cents) as bigint) as gross_revenue_cents
from recognized
group by business_date, currency
