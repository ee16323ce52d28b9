{{
    config(
        materialized='incremental',
        unique_key=['customer_key', 'channel'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{#- The privacy system's latest event per (customer_key, channel) (DESIGN §8): the greatest
    (event_ts, ingested_ts, source_record_id), the id compared as a string.

    Incremental: a run reads only its window's landing partitions and the current rows of the
    pairs they touch, so a daily run does not rescan history; the first build reads every
    partition before the window's end. Ranking the union under the same total order makes the
    result equal to a full recompute whatever order partitions are applied in. -#}

with events as (

    select
        customer_key, channel, preference_state, event_ts, ingested_ts, source_record_id,
        partition_key
    from {{ source('staging', 'stg_privacy_events') }}

),

{% if is_incremental() %}
changes as (

    select * from events where {{ in_landing_window('partition_key') }}

),

current_rows as (

    select
        t.customer_key, t.channel, t.preference_state, t.event_ts, t.ingested_ts,
        t.source_record_id, t.partition_key
    from {{ this }} as t
    inner join (select distinct customer_key, channel from changes) as touched
        on touched.customer_key = t.customer_key and touched.channel = t.channel

),

candidates as (

    select * from changes
    union all
    select * from current_rows

),
{% else %}
candidates as (

    select * from events where partition_key < '{{ var("max_date") }}'

),
{% endif %}

ranked as (

    select
        *,
        row_number() over (
            partition by customer_key, channel
            order by {{ privacy_event_order() }}
        ) as event_rank
    from candidates

)

select
    cast(customer_key as varchar) as customer_key,
    cast(channel as varchar) as channel,
    cast(preference_state as varchar) as preference_state,
    cast(event_ts as timestamp) as event_ts,
    cast(ingested_ts as timestamp) as ingested_ts,
    cast(source_record_id as varchar) as source_record_id,
    cast(partition_key as varchar) as partition_key
from ranked
where event_rank = 1
