"""Flamenco Manager: the aiohttp service that holds the jobs and hands tasks to Workers."""
