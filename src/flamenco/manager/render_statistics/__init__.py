"""Render statistics: per-task run times and per-frame render times and memory, kept as numbers."""
