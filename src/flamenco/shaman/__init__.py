"""Shaman: content-addressed storage of job files, with per-job checkouts."""
