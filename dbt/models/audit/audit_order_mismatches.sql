{{
    config(
        materialized='incremental',
        unique_key='mismatch_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{#- Cross-system order mismatches (orders × Stripe × WMS) per business date, the UTC day of
    the order's created_at (for an unknown order id: the day of its first payment event or
    shipment row). The classes, their exact definitions and the order in which they are tried
    are in audit_order_mismatches.yml; one order gets at most one class.

    Each run re-evaluates the window [min_date - lookback_days, max_date + 1 day) (window_end:
    a change can make the next day's order a duplicate) and merges the result into the rows
    already stored for that window: a mismatch seen before keeps its first_seen_*, one seen
    now gets last_seen_* = this run, and one no longer found is kept with is_cleared = true
    and cleared_* = this run (a payment that arrived later resolves its MISSING_PAYMENT). -#}

with orders as (

    select order_id, customer_id, status, currency, amount_cents, created_at, updated_at
    from {{ ref('orders_latest') }}
    where not is_deleted

),

known_orders as (

    select order_id from {{ ref('orders_latest') }}

),

payments as (

    select * from {{ ref('payments_latest') }}

),

shipments as (

    select * from {{ ref('shipments_latest') }}

),

shipments_by_order as (

    select
        order_id,
        count(*) as shipments,
        max(case when shipped_at is not null or delivered_at is not null then 1 else 0 end)
            as has_shipped,
        min(first_event_at) as first_event_at
    from shipments
    group by order_id

),

{#- The data's own clock: the latest instant any source has reported. MISSING_SHIPMENT is
    judged against it, not the wall clock, so a replay gives the same answer. -#}
data_clock as (

    select max(ts) as as_of
    from (
        select max(updated_at) as ts from {{ ref('orders_latest') }}
        union all
        select max(last_event_at) as ts from payments
        union all
        select max(last_event_at) as ts from shipments
    ) as clocks

),

window_orders as (

    select * from orders where {{ in_business_window('cast(created_at as date)') }}

),

duplicates as (

    select
        later.order_id,
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
    group by later.order_id

),

order_checks as (

    select
        o.order_id,
        cast(o.created_at as date) as business_date,
        d.related_order_id,
        o.status as order_status,
        o.currency as order_currency,
        o.amount_cents as order_amount_cents,
        p.payment_status,
        p.currency as payment_currency,
        p.amount_cents as payment_amount_cents,
        coalesce(s.shipments, 0) as shipments,
        case
            when d.order_id is not null then 'DUPLICATE_ORDER'
            when s.has_shipped = 1
                and (o.status = 'cancelled' or p.payment_status in ('failed', 'refunded'))
                then 'STATUS_CONFLICT'
            when o.status in ('paid', 'shipped', 'delivered', 'refunded') and p.order_id is null
                then 'MISSING_PAYMENT'
            when p.currency is not null and p.currency <> o.currency then 'CURRENCY_MISMATCH'
            when p.amount_cents is not null and p.amount_cents <> o.amount_cents
                then 'AMOUNT_MISMATCH'
            when o.status in ('shipped', 'delivered')
                and s.order_id is null
                and {{ add_seconds('o.updated_at', var('missing_shipment_sla_hours') * 3600) }}
                    <= c.as_of
                then 'MISSING_SHIPMENT'
        end as mismatch_type
    from window_orders as o
    left join duplicates as d on d.order_id = o.order_id
    left join payments as p on p.order_id = o.order_id
    left join shipments_by_order as s on s.order_id = o.order_id
    cross join data_clock as c

),

unknown_ids as (

    select
        coalesce(p.order_id, s.order_id) as order_id,
        case when p.order_id is not null then 'ORPHAN_PAYMENT' else 'ORPHAN_SHIPMENT' end
            as mismatch_type,
        cast(coalesce(p.first_event_at, s.first_event_at) as date) as business_date,
        p.payment_status,
        p.currency as payment_currency,
        p.amount_cents as payment_amount_cents,
        coalesce(s.shipments, 0) as shipments
    from payments as p
    full outer join shipments_by_order as s on s.order_id = p.order_id
    where coalesce(p.order_id, s.order_id) not in (select order_id from known_orders)

),

detected as (

    select
        business_date, order_id, mismatch_type, related_order_id, order_status,
        order_currency, order_amount_cents, payment_status, payment_currency,
        payment_amount_cents, shipments
    from order_checks
    where mismatch_type is not null

    union all

    select
        business_date, order_id, mismatch_type, null, null, null, null, payment_status,
        payment_currency, payment_amount_cents, shipments
    from unknown_ids
    where {{ in_business_window('business_date') }}

),

keyed as (

    select
        cast(business_date as varchar) || '|' || order_id || '|' || mismatch_type
            as mismatch_key,
        *
    from detected

),

{% if is_incremental() %}
previous as (

    select * from {{ this }} where {{ in_business_window('business_date') }}

),

merged as (

    select
        coalesce(k.mismatch_key, p.mismatch_key) as mismatch_key,
        coalesce(k.business_date, p.business_date) as business_date,
        coalesce(k.order_id, p.order_id) as order_id,
        coalesce(k.mismatch_type, p.mismatch_type) as mismatch_type,
        case when k.mismatch_key is not null then k.related_order_id else p.related_order_id end
            as related_order_id,
        case when k.mismatch_key is not null then k.order_status else p.order_status end
            as order_status,
        case when k.mismatch_key is not null then k.order_currency else p.order_currency end
            as order_currency,
        case when k.mismatch_key is not null then k.order_amount_cents
            else p.order_amount_cents end as order_amount_cents,
        case when k.mismatch_key is not null then k.payment_status else p.payment_status end
            as payment_status,
        case when k.mismatch_key is not null then k.payment_currency
            else p.payment_currency end as payment_currency,
        case when k.mismatch_key is not null then k.payment_amount_cents
            else p.payment_amount_cents end as payment_amount_cents,
        case when k.mismatch_key is not null then k.shipments else p.shipments end as shipments,
        coalesce(p.first_seen_run_id, {{ current_run_id() }}) as first_seen_run_id,
        coalesce(p.first_seen_at, {{ current_run_ts() }}) as first_seen_at,
        case when k.mismatch_key is not null then {{ current_run_id() }}
            else p.last_seen_run_id end as last_seen_run_id,
        case when k.mismatch_key is not null then {{ current_run_ts() }}
            else p.last_seen_at end as last_seen_at,
        k.mismatch_key is null as is_cleared,
        case when k.mismatch_key is not null then null
            when p.is_cleared then p.cleared_run_id
            else {{ current_run_id() }} end as cleared_run_id,
        case when k.mismatch_key is not null then null
            when p.is_cleared then p.cleared_at
            else {{ current_run_ts() }} end as cleared_at
    from keyed as k
    full outer join previous as p on p.mismatch_key = k.mismatch_key

)
{% else %}
merged as (

    select
        *,
        {{ current_run_id() }} as first_seen_run_id,
        {{ current_run_ts() }} as first_seen_at,
        {{ current_run_id() }} as last_seen_run_id,
        {{ current_run_ts() }} as last_seen_at,
        false as is_cleared,
        cast(null as varchar) as cleared_run_id,
        cast(null as timestamp) as cleared_at
    from keyed

)
{% endif %}

select
    cast(mismatch_key as varchar) as mismatch_key,
    cast(business_date as date) as business_date,
    cast(order_id as varchar) as order_id,
    cast(mismatch_type as varchar) as mismatch_type,
    cast(related_order_id as varchar) as related_order_id,
    cast(order_status as varchar) as order_status,
    cast(order_currency as varchar) as order_currency,
    cast(order_amount_cents as bigint) as order_amount_cents,
    cast(payment_status as varchar) as payment_status,
    cast(payment_currency as varchar) as payment_currency,
    cast(payment_amount_cents as bigint) as payment_amount_cents,
    cast(shipments as bigint) as shipments,
    cast(first_seen_run_id as varchar) as first_seen_run_id,
    cast(first_seen_at as timestamp) as first_seen_at,
    cast(last_seen_run_id as varchar) as last_seen_run_id,
    cast(last_seen_at as timestamp) as last_seen_at,
    cast(is_cleared as boolean) as is_cleared,
    cast(cleared_run_id as varchar) as cleared_run_id,
    cast(cleared_at as timestamp) as cleared_at
from merged
