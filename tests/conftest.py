"""Session-wide test setup shared by every test package."""

from __future__ import annotations

import os
import tempfile

# The demo bundle is built on first use into $EXPLAIN_HOME; give the test session its own, so tests never
# read or write the developer's cache and every run starts from a clean build. Set at import time (before
# any test imports explain) and removed by the OS temp cleaner; worker processes inherit it.
os.environ.setdefault("EXPLAIN_HOME", tempfile.mkdtemp(prefix="explain-test-home-"))
