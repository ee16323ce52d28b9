{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{#- The payment state of every order Stripe has told us about, one row per metadata.order_id.

    Each run recomputes, from *all* staged events, the orders that have an event in the
    window's landing partitions: an aggregate over an order's whole history cannot be merged
    from one day's events, and recomputing from staging makes partitions applied in any order
    converge to the same rows.

    Total order of an order's events: created_at, then ingested_ts, then event_id (all
    descending). payment_status is the status of the latest event of a known type
    (charge.refunded → refunded; charge.succeeded, payment_intent.succeeded → succeeded;
    payment_intent.payment_failed → failed); amount_cents and currency are those of the latest
    succeeded event (currency upper-cased: Stripe writes `usd`), or of the latest event when
    none succeeded (amount then NULL). -#}

with events as (

    select
        event_id, event_type, created_at, amount, upper(currency) as currency, order_id,
        ingested_ts, partition_key,
        case event_type
            when 'charge.refunded' then 'refunded'
            when 'charge.succeeded' then 'succeeded'
            when 'payment_intent.succeeded' then 'succeeded'
            when 'payment_intent.payment_failed' then 'failed'
        end as payment_status
    from {{ source('staging', 'stg_stripe_events') }}

),

{% if is_incremental() %}
touched as (

    select distinct order_id from events where {{ in_landing_window('partition_key') }}

),

order_events as (

    select * from events where order_id in (select order_id from touched)

),
{% else %}
order_events as (

    select * from events

),
{% endif %}

ranked as (

    select
        *,
        row_number() over (
            partition by order_id
            order by case when payment_status is null then 1 else 0 end,
                created_at desc, ingested_ts desc, event_id desc
        ) as state_rank,
        row_number() over (
            partition by order_id
            order by case when payment_status = 'succeeded' then 0 else 1 end,
                created_at desc, ingested_ts desc, event_id desc
        ) as paid_rank
    from order_events

)

select
    cast(order_id as varchar) as order_id,
    cast(max(case when state_rank = 1 then payment_status end) as varchar) as payment_status,
    cast(max(case when state_rank = 1 then event_type end) as varchar) as latest_event_type,
    cast(max(case when state_rank = 1 then event_id end) as varchar) as latest_event_id,
    cast(
        max(case when paid_rank = 1 and payment_status = 'succeeded' then amount end) as bigint
    ) as amount_cents,
    cast(
        coalesce(
            max(case when paid_rank = 1 and payment_status = 'succeeded' then currency end),
            max(case when state_rank = 1 then currency end)
        ) as varchar
    ) as currency,
    cast(count(distinct event_id) as bigint) as event_count,
    cast(min(created_at) as timestamp) as first_event_at,
    cast(max(created_at) as timestamp) as last_event_at,
    cast(max(ingested_ts) as timestamp) as last_ingested_ts
from ranked
group by order_id
