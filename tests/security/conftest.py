"""Fixtures of the security regression tests (issue 16): the API fixtures of ``tests/api`` (an app on a fresh
SQLite ledger with the telecom example plan, one login per role, token-authenticated TestClients)."""

from tests.api.conftest import api, assert_envelope, cheap_hashes, make_api, operator_api, operator_dir  # noqa: F401
from tests.loop import run_async  # noqa: E402,F401
