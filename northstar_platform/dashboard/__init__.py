"""The operations dashboard: one server-rendered page for the analytics team's monthly review.

`queries` reads the warehouse (read-only, one short session per request), `charts` draws
inline SVG (no scripts, no CDN: this runs on machines without internet), `page` lays out the
HTML and `server` serves it with the same data as JSON under `/api/<panel>.json`.
"""
