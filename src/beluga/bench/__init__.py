"""``beluga bench``: measure providers, models and roles — latency, throughput, cost, history."""
