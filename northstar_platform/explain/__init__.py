"""`northstar explain`: trace one record through every layer and say why it is inconsistent.

`rules` holds the root-cause rules as set-based SQL shared with the `audit_root_cause` asset;
`orders`, `entities` and `preferences` the per-entity traces; `render` text and JSON.
"""
