"""The Manager's domain services: what jobs, tasks and Workers do, and the loops that watch them."""
