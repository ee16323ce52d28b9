{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where business_date >= {{ window_start(lookback=true) }} and business_date < {{ window_end(lookahead=true) }}{% endif %}",
    )
}}

{#- Cross-system order mismatches per business date (UTC day of created_at). This slice
    classifies DUPLICATE_ORDER; the payments and fulfilment classes join in with their
    sources. Each run replaces the window [min_date - lookback_days, max_date + 1 day)
    (see window_end: a change can reach the next business date's duplicates).

    DUPLICATE_ORDER: a live order for which an earlier live order (by created_at, then
    order_id) of the same customer_id, currency and amount_cents was created at most
    duplicate_window_seconds before it — a double submission. The earlier one is the
    original (related_order_id) and is not reported. -#}

with orders as (

    select order_id, customer_id, currency, amount_cents, created_at
    from {{ ref('orders_latest') }}
    where not is_deleted

),

window_orders as (

    select *
    from orders
    where cast(created_at as date) >= {{ window_start(lookback=true) }}
      and cast(created_at as date) < {{ window_end(lookahead=true) }}

),

duplicates as (

    select
        later.order_id,
        cast(later.created_at as date) as business_date,
        min(earlier.order_id) as related_order_id
    from window_orders as later
    inner join orders as earlier
        on earlier.customer_id = later.customer_id
        and earlier.currency = later.currency
        and earlier.amount_cents = later.amount_cents
        and (
            earlier.created_at < later.created_at
            or (earlier.created_at = later.created_at and earlier.order_id < later.order_id)
        )
        and later.created_at <= {{ add_seconds('earlier.created_at', var('duplicate_window_seconds')) }}
    group by later.order_id, cast(later.created_at as date)

)

select
    cast(business_date as date) as business_date,
    cast(order_id as varchar) as order_id,
    cast('DUPLICATE_ORDER' as varchar) as mismatch_type,
    cast(related_order_id as varchar) as related_order_id,
    cast('{{ invocation_id }}' as varchar) as first_seen_run_id
from duplicates
