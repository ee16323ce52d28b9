"""How `northstar materialize` (runner.py) treats an asset beyond its partitions: asset tags.

- `ON_DEMAND`: never part of a default materialize of every asset (the shadow-parity report
  compares a shadow build that production runs do not make; it has its own job).
- `AFTER_GATES`: a single-run asset materialized in its own run right after each range's
  single-run models, so a failed blocking gate upstream does not skip it (the root-cause
  counts are needed most when a gate fails).
"""

RUNS_TAG = "northstar/runs"
ON_DEMAND = {RUNS_TAG: "on_demand"}
AFTER_GATES = {RUNS_TAG: "after_gates"}
