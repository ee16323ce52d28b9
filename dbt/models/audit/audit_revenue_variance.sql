{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ in_business_window('business_date') }}{% endif %}",
    )
}}

{#- Revenue the marts would publish vs finance's report, per business date and currency.

    variance_ratio = |mart - finance| / finance (NULL when finance reports 0 or nothing).
    status: WITHIN_LIMIT (ratio <= revenue_variance_limit), OVER_LIMIT (above it, or revenue
    on one side only), NO_FINANCE_REPORT (finance has not reported the date at all yet: the
    date cannot be reconciled, and is re-evaluated when the report lands). -#}

with marts as (

    select business_date, currency, orders, gross_revenue_cents
    from {{ ref('int_revenue_daily') }}
    where {{ in_business_window('business_date') }}

),

{#- A restatement can land in a later day's folder: finance's figure for a (date, currency)
    is the latest landed row across landing partitions (arrival, then partition, file, line). -#}
finance_rows as (

    select
        business_date, currency, gross_revenue_cents,
        row_number() over (
            partition by business_date, currency
            order by ingested_ts desc, partition_key desc, source_file desc, line_no desc
        ) as report_rank
    from {{ source('staging', 'stg_finance_revenue') }}
    where {{ in_business_window('business_date') }}

),

finance as (

    select business_date, currency, gross_revenue_cents
    from finance_rows
    where report_rank = 1

),

reported_dates as (

    select distinct business_date from {{ source('staging', 'stg_finance_revenue') }}

),

compared as (

    select
        coalesce(m.business_date, f.business_date) as business_date,
        coalesce(m.currency, f.currency) as currency,
        coalesce(m.orders, 0) as mart_orders,
        coalesce(m.gross_revenue_cents, 0) as mart_revenue_cents,
        f.gross_revenue_cents as finance_revenue_cents,
        r.business_date is not null as has_finance_report
    from marts as m
    full outer join finance as f
        on f.business_date = m.business_date and f.currency = m.currency
    left join reported_dates as r
        on r.business_date = coalesce(m.business_date, f.business_date)

),

measured as (

    select
        *,
        abs(mart_revenue_cents - coalesce(finance_revenue_cents, 0)) as variance_cents,
        case when finance_revenue_cents > 0
            then abs(mart_revenue_cents - finance_revenue_cents) * 1.0 / finance_revenue_cents
        end as variance_ratio
    from compared

)

select
    cast(business_date as date) as business_date,
    cast(currency as varchar) as currency,
    cast(mart_orders as bigint) as mart_orders,
    cast(mart_revenue_cents as bigint) as mart_revenue_cents,
    cast(finance_revenue_cents as bigint) as finance_revenue_cents,
    cast(variance_cents as bigint) as variance_cents,
    cast(variance_ratio as double) as variance_ratio,
    cast({{ var('revenue_variance_limit') }} as double) as variance_limit,
    cast(
        case
            when not has_finance_report then 'NO_FINANCE_REPORT'
            when variance_ratio is null and variance_cents = 0 then 'WITHIN_LIMIT'
            when variance_ratio is null then 'OVER_LIMIT'
            when variance_ratio <= {{ var('revenue_variance_limit') }} then 'WITHIN_LIMIT'
            else 'OVER_LIMIT'
        end as varchar
    ) as status
from measured
