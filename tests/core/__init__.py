"""Core test tier: one file per module of the paper (run alone: pytest tests/core).

This file makes tests/core a package, so its modules are imported as core.test_config etc.
and do not clash with tests/test_config.py when the whole suite is collected.
"""
