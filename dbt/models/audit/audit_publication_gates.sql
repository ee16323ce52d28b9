{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ in_business_window('business_date') }}{% endif %}",
    )
}}

{#- Whether each business date's marts may be published: one row per (business_date, gate).
    The marts publish a date only when all four gates pass (macro publishable_dates); a date
    that fails keeps what was published before (write, audit, then publish).

    duplicate_order_rate    open DUPLICATE_ORDER / live orders of the date; passes when
                            strictly below duplicate_rate_limit (0.1%, the SLA).
    referential_integrity   (open ORPHAN_PAYMENT + ORPHAN_SHIPMENT + live orders whose
                            customer_id is not in customers_latest) / live orders; passes at
                            or below referential_violation_limit (1%).
    revenue_variance        the worst currency's variance_ratio in audit_revenue_variance;
                            fails when any currency is OVER_LIMIT (0.05%). A date finance
                            has not reported yet passes, with the reason in `detail`.
    mismatch_spike          open mismatches of the date vs the median of the previous
                            mismatch_spike_history_days business dates that have orders;
                            fails only above median × (1 + tolerance) *and* at least
                            mismatch_spike_min_excess rows above it; no history passes. -#}

with orders as (

    select order_id, customer_id, cast(created_at as date) as business_date
    from {{ ref('orders_latest') }}
    where not is_deleted

),

customers as (

    select customer_id from {{ source('curated', 'customers_latest') }}

),

open_mismatches as (

    select business_date, mismatch_type
    from {{ ref('audit_order_mismatches') }}
    where not is_cleared

),

variance as (

    select * from {{ ref('audit_revenue_variance') }}
    where {{ in_business_window('business_date') }}

),

order_dates as (

    select
        business_date,
        cast(count(*) as bigint) as live_orders,
        cast(
            sum(case when customer_id not in (select customer_id from customers) then 1 else 0 end)
            as bigint
        ) as unknown_customers
    from orders
    group by business_date

),

mismatch_dates as (

    select
        business_date,
        cast(count(*) as bigint) as mismatches,
        cast(sum(case when mismatch_type = 'DUPLICATE_ORDER' then 1 else 0 end) as bigint)
            as duplicates,
        cast(
            sum(case when mismatch_type in ('ORPHAN_PAYMENT', 'ORPHAN_SHIPMENT') then 1 else 0 end)
            as bigint
        ) as orphans
    from open_mismatches
    group by business_date

),

window_dates as (

    select business_date from order_dates where {{ in_business_window('business_date') }}
    union
    select business_date from mismatch_dates where {{ in_business_window('business_date') }}
    union
    select business_date from variance

),

daily as (

    select
        w.business_date,
        coalesce(o.live_orders, 0) as live_orders,
        coalesce(o.unknown_customers, 0) as unknown_customers,
        coalesce(m.mismatches, 0) as mismatches,
        coalesce(m.duplicates, 0) as duplicates,
        coalesce(m.orphans, 0) as orphans
    from window_dates as w
    left join order_dates as o on o.business_date = w.business_date
    left join mismatch_dates as m on m.business_date = w.business_date

),

history as (

    select
        d.business_date,
        count(h.business_date) as history_dates,
        median(coalesce(m.mismatches, 0)) as median_mismatches
    from daily as d
    inner join order_dates as h
        on h.business_date < d.business_date
        and h.business_date >= {{ add_days('d.business_date', -1 * var('mismatch_spike_history_days') | int) }}
    left join mismatch_dates as m on m.business_date = h.business_date
    group by d.business_date

),

worst_variance as (

    select
        business_date,
        max(case when status = 'OVER_LIMIT' then 1 else 0 end) as over_limit,
        max(case when status = 'NO_FINANCE_REPORT' then 1 else 0 end) as unreported,
        max(coalesce(variance_ratio, case when status = 'OVER_LIMIT' then 1.0 else 0.0 end))
            as worst_ratio,
        max(case when status = 'OVER_LIMIT' then currency end) as over_currency
    from variance
    group by business_date

),

gates as (

    select
        business_date,
        'duplicate_order_rate' as gate,
        duplicates * 1.0 / greatest(live_orders, 1) as observed,
        {{ var('duplicate_rate_limit') }} * 1.0 as threshold,
        duplicates * 1.0 / greatest(live_orders, 1) < {{ var('duplicate_rate_limit') }} as passed,
        cast(duplicates as varchar) || ' duplicate(s) of ' || cast(live_orders as varchar)
            || ' live orders' as detail
    from daily

    union all

    select
        business_date,
        'referential_integrity',
        (orphans + unknown_customers) * 1.0 / greatest(live_orders, 1),
        {{ var('referential_violation_limit') }} * 1.0,
        (orphans + unknown_customers) * 1.0 / greatest(live_orders, 1)
            <= {{ var('referential_violation_limit') }},
        cast(orphans as varchar) || ' orphan payment/shipment id(s), '
            || cast(unknown_customers as varchar) || ' order(s) of unknown customers, of '
            || cast(live_orders as varchar) || ' live orders'
    from daily

    union all

    select
        d.business_date,
        'revenue_variance',
        coalesce(v.worst_ratio, 0.0),
        {{ var('revenue_variance_limit') }} * 1.0,
        coalesce(v.over_limit, 0) = 0,
        case
            when v.over_limit = 1 then 'finance differs by more than the limit in '
                || v.over_currency
            when v.business_date is null or v.unreported = 1
                then 'no finance report for the date yet: not reconciled'
            else 'every currency within the limit'
        end
    from daily as d
    left join worst_variance as v on v.business_date = d.business_date

    union all

    select
        d.business_date,
        'mismatch_spike',
        d.mismatches * 1.0,
        h.median_mismatches * (1 + {{ var('mismatch_spike_tolerance') }}),
        h.business_date is null
            or d.mismatches <= h.median_mismatches * (1 + {{ var('mismatch_spike_tolerance') }})
            or d.mismatches - h.median_mismatches < {{ var('mismatch_spike_min_excess') }},
        case
            when h.business_date is null then 'no earlier business dates: passes without a baseline'
            else cast(d.mismatches as varchar) || ' open mismatch(es) vs trailing median '
                || cast(h.median_mismatches as varchar) || ' of '
                || cast(h.history_dates as varchar) || ' date(s)'
        end
    from daily as d
    left join history as h on h.business_date = d.business_date

)

select
    cast(business_date as date) as business_date,
    cast(gate as varchar) as gate,
    cast(observed as double) as observed,
    cast(threshold as double) as threshold,
    cast(passed as boolean) as passed,
    cast(detail as varchar) as detail,
    {{ current_run_id() }} as run_id
from gates
