"""Prometheus metrics: what each Manager process records, and the farm's counts at GET /metrics."""
