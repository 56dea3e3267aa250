"""Helpers shared by the test suites: fakes, factories and spec-checking HTTP clients."""
