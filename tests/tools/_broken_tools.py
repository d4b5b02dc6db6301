"""A module whose import fails on a missing dependency (for test_registry)."""

import beluga_no_such_dependency  # noqa: F401
