"""Flamenco in Python: a render farm for Blender, wire-compatible with Flamenco 3."""

from __future__ import annotations

__version__ = "0.1.0"

# The Flamenco release whose API and behaviour we implement. Upstream add-ons and
# Workers compare this against their own version, so it must match theirs.
FLAMENCO_API_VERSION = "3.9"
