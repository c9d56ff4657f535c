"""Helpers and fixtures of the test suite (the modules are listed in tests/conftest.py)."""
