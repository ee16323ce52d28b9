{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where recon_date = {{ recon_date() }}{% endif %}",
    )
}}

{#- What the core system must apply for reconciliation date D (DESIGN §8): STATE_DIFF and
    STALE_IN_CORE rows, plus MISSING_IN_CORE rows whose expected state is OPT_OUT (an opt-out
    the core system never heard of must reach it). new_preference_state = expected state,
    effective_ts = expected_updated_ts; update_hash identifies the payload across reruns and
    both warehouses, so a retry never sends the same patch twice. -#}

with mismatches as (

    select * from {{ ref('audit_preference_mismatches') }}
    where recon_date = {{ recon_date() }}
      and (
          mismatch_type in ('STATE_DIFF', 'STALE_IN_CORE')
          or (mismatch_type = 'MISSING_IN_CORE' and expected_state = 'OPT_OUT')
      )

)

select
    cast(recon_date as date) as recon_date,
    cast(customer_key as varchar) as customer_key,
    cast(channel as varchar) as channel,
    cast(mismatch_type as varchar) as mismatch_type,
    cast(expected_state as varchar) as new_preference_state,
    cast(expected_updated_ts as timestamp) as effective_ts,
    cast(
        {{ sha256_hex(
            "customer_key || '|' || channel || '|' || expected_state || '|' || "
            ~ timestamp_micros_text('expected_updated_ts')
        ) }} as varchar
    ) as update_hash
from mismatches
