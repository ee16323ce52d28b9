{{
    config(
        materialized='incremental',
        unique_key=['customer_key', 'channel'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{#- The core system's latest row per (customer_key, channel) (DESIGN §8): the greatest
    (updated_ts, ingested_ts); on a full tie OPT_OUT wins over OPT_IN (compliance-safe).

    Incremental: rows synced since the last build (ingested_ts after the newest one here) and
    the current rows of the pairs they touch, ranked under the same total order. -#}

with history as (

    select customer_key, channel, preference_state, updated_ts, ingested_ts
    from {{ source('curated', 'core_preferences_history') }}

),

{% if is_incremental() %}
changes as (

    select * from history
    where ingested_ts > (select coalesce(max(ingested_ts), cast('1970-01-01' as timestamp)) from {{ this }})

),

current_rows as (

    select t.customer_key, t.channel, t.preference_state, t.updated_ts, t.ingested_ts
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

    select * from history

),
{% endif %}

ranked as (

    select
        *,
        row_number() over (
            partition by customer_key, channel
            order by {{ core_row_order() }}
        ) as row_rank
    from candidates

)

select
    cast(customer_key as varchar) as customer_key,
    cast(channel as varchar) as channel,
    cast(preference_state as varchar) as preference_state,
    cast(updated_ts as timestamp) as updated_ts,
    cast(ingested_ts as timestamp) as ingested_ts
from ranked
where row_rank = 1
