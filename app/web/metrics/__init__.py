"""`/metrics`: Prometheus's scrape endpoint."""
