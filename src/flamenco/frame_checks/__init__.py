"""Rendered frames: which files a render task should write, and whether they are whole."""
