{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where business_date in ({{ publishable_dates() }}){% endif %}",
    )
}}

{#- One row per trusted order: live (not soft-deleted), not an open DUPLICATE_ORDER, with its
    payment and fulfilment state and the open mismatch (if any) that makes it questionable.
    Published per business date (UTC day of created_at): only the window's dates whose
    publication gates all pass are replaced; a withheld date keeps its last published rows. -#}

with orders as (

    select * from {{ ref('orders_latest') }}
    where not is_deleted and {{ in_business_window('cast(created_at as date)') }}

),

open_mismatches as (

    select order_id, mismatch_type from {{ ref('audit_order_mismatches') }}
    where not is_cleared and {{ in_business_window('business_date') }}

),

payments as (

    select * from {{ ref('payments_latest') }}

),

shipments as (

    select
        order_id,
        count(*) as shipments,
        min(shipped_at) as first_shipped_at,
        min(delivered_at) as first_delivered_at
    from {{ ref('shipments_latest') }}
    group by order_id

),

published as (

    {{ publishable_dates() }}

)

select
    cast(o.order_id as varchar) as order_id,
    cast(o.created_at as date) as business_date,
    cast(o.customer_id as varchar) as customer_id,
    cast(o.status as varchar) as status,
    cast(o.currency as varchar) as currency,
    cast(o.amount_cents as bigint) as amount_cents,
    cast(o.created_at as timestamp) as created_at,
    cast(o.updated_at as timestamp) as updated_at,
    cast(p.payment_status as varchar) as payment_status,
    cast(p.amount_cents as bigint) as paid_amount_cents,
    cast(coalesce(s.shipments, 0) as bigint) as shipments,
    cast(s.first_shipped_at as timestamp) as shipped_at,
    cast(s.first_delivered_at as timestamp) as delivered_at,
    cast(m.mismatch_type as varchar) as open_mismatch_type
from orders as o
inner join published as d on d.business_date = cast(o.created_at as date)
left join open_mismatches as m on m.order_id = o.order_id
left join payments as p on p.order_id = o.order_id
left join shipments as s on s.order_id = o.order_id
where m.mismatch_type is null or m.mismatch_type <> 'DUPLICATE_ORDER'
