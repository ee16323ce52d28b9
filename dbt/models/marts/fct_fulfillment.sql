{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where business_date in ({{ publishable_dates() }}){% endif %}",
    )
}}

{#- Warehouse throughput per business date (UTC day a shipment was first reported shipped)
    and warehouse: shipments, units, how many are delivered, how many reference no known
    order, and the mean hours from order creation to shipment. Published per date like the
    other marts. -#}

with shipments as (

    select * from {{ ref('shipments_latest') }}
    where shipped_at is not null
      and {{ in_business_window('cast(shipped_at as date)') }}

),

orders as (

    select order_id, created_at from {{ ref('orders_latest') }}

),

published as (

    {{ publishable_dates() }}

),

measured as (

    select
        cast(s.shipped_at as date) as business_date,
        s.warehouse_code,
        s.quantity,
        s.delivered_at,
        o.order_id as known_order_id,
        case when o.order_id is not null
            then {{ seconds_between('o.created_at', 's.shipped_at') }} / 3600.0
        end as hours_to_ship
    from shipments as s
    left join orders as o on o.order_id = s.order_id

)

select
    cast(m.business_date as date) as business_date,
    cast(m.warehouse_code as varchar) as warehouse_code,
    cast(count(*) as bigint) as shipments,
    cast(sum(m.quantity) as bigint) as units,
    cast(sum(case when m.delivered_at is not null then 1 else 0 end) as bigint)
        as delivered_shipments,
    cast(sum(case when m.known_order_id is null then 1 else 0 end) as bigint) as orphan_shipments,
    cast(avg(m.hours_to_ship) as double) as avg_hours_to_ship
from measured as m
inner join published as d on d.business_date = m.business_date
group by m.business_date, m.warehouse_code
