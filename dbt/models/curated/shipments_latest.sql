{{
    config(
        materialized='incremental',
        unique_key='shipment_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{#- The latest state of every warehouse shipment, one row per shipment_id.

    As payments_latest: the shipments with a row in the window's landing hours are recomputed
    from all their staged rows, so hours applied in any order converge. Total order of a
    shipment's rows: event_ts, then ingested_ts, then source_file, then line_no (descending);
    the latest row gives order_id, status, quantity and warehouse_code. shipped_at and
    delivered_at are the first `shipped` and `delivered` rows. -#}

with shipment_rows as (

    select
        shipment_id, order_id, status, quantity, warehouse_code, event_ts, ingested_ts,
        source_file, line_no, partition_key
    from {{ source('staging', 'stg_wms_shipments') }}

),

{% if is_incremental() %}
touched as (

    select distinct shipment_id from shipment_rows where {{ in_landing_window('partition_key') }}

),

candidates as (

    select * from shipment_rows where shipment_id in (select shipment_id from touched)

),
{% else %}
candidates as (

    select * from shipment_rows

),
{% endif %}

ranked as (

    select
        *,
        row_number() over (
            partition by shipment_id
            order by event_ts desc, ingested_ts desc, source_file desc, line_no desc
        ) as version_rank
    from candidates

)

select
    cast(shipment_id as varchar) as shipment_id,
    cast(max(case when version_rank = 1 then order_id end) as varchar) as order_id,
    cast(max(case when version_rank = 1 then status end) as varchar) as status,
    cast(max(case when version_rank = 1 then quantity end) as bigint) as quantity,
    cast(max(case when version_rank = 1 then warehouse_code end) as varchar) as warehouse_code,
    cast(min(case when status = 'shipped' then event_ts end) as timestamp) as shipped_at,
    cast(min(case when status = 'delivered' then event_ts end) as timestamp) as delivered_at,
    cast(count(*) as bigint) as event_count,
    cast(min(event_ts) as timestamp) as first_event_at,
    cast(max(event_ts) as timestamp) as last_event_at,
    cast(max(ingested_ts) as timestamp) as last_ingested_ts
from ranked
group by shipment_id
