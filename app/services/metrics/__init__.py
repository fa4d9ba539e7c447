"""Ferry's operational metrics, served at `/metrics` in Prometheus's text format.

Two kinds, and why they live where they do:
- gauges (`gauges`, `rq_workers`) are read at scrape time from the database (the truth
  about runs) and from RQ's worker registry in Redis, so they need no bookkeeping at all;
- histograms (`histograms`) are observed by many processes at once (gunicorn workers
  accepting webhooks, RQ workers finishing runs and steps), so their bucket counters sit
  in Redis hashes that every process increments and any web process reads back.
`exposition` turns both into the text a Prometheus server scrapes; `access` checks the
scraper's token.
"""
