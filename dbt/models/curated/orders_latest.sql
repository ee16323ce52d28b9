{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{#- The latest version of every order. Changes of the window are merged with the current
    rows of the same orders under one total order (updated_at, ingested_ts, source_file,
    line_no, all descending), so partitions applied in any order converge to the same rows. -#}

with changes as (

    select
        order_id, customer_id, status, currency, amount_cents, created_at, updated_at,
        is_deleted, ingested_ts, source_file, line_no, partition_key
    from {{ source('staging', 'stg_orders') }}
    where partition_key >= '{{ var("min_date") }}' and partition_key < '{{ var("max_date") }}'

),

{% if is_incremental() %}
current_rows as (

    select
        order_id, customer_id, status, currency, amount_cents, created_at, updated_at,
        is_deleted, ingested_ts, source_file, line_no, partition_key
    from {{ this }}
    where order_id in (select order_id from changes)

),

candidates as (

    select * from changes
    union all
    select * from current_rows

),
{% else %}
candidates as (

    select * from changes

),
{% endif %}

ranked as (

    select
        *,
        row_number() over (
            partition by order_id
            order by updated_at desc, ingested_ts desc, source_file desc, line_no desc
        ) as version_rank
    from candidates

)

select
    cast(order_id as varchar) as order_id,
    cast(customer_id as varchar) as customer_id,
    cast(status as varchar) as status,
    cast(currency as varchar) as currency,
    cast(amount_cents as bigint) as amount_cents,
    cast(created_at as timestamp) as created_at,
    cast(updated_at as timestamp) as updated_at,
    cast(is_deleted as boolean) as is_deleted,
    cast(ingested_ts as timestamp) as ingested_ts,
    cast(source_file as varchar) as source_file,
    cast(line_no as bigint) as line_no,
    cast(partition_key as varchar) as partition_key
from ranked
where version_rank = 1
