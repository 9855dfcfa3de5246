"""Issue 16, item 16: a 500 answer carries the security headers the docs promise for every response (docs/api.md:
``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy: same-origin``). Starlette sends
a 500 from its outermost middleware, outside the one that adds them to every other answer."""

from __future__ import annotations

import pytest

from tests.security.conftest import assert_envelope
from weixi.api.app import SECURITY_HEADERS
from weixi.ledger import catalogue

PROMISED = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}


def _boom(*args, **kwargs):
    raise RuntimeError("secret detail of a bug")


def test_the_promised_headers_are_the_ones_the_app_sends():
    assert {k.decode(): v.decode() for k, v in SECURITY_HEADERS} == PROMISED


@pytest.mark.parametrize("path", ["/api/catalogue", "/catalogue"])
def test_a_route_that_raises_answers_500_with_the_security_headers(api, monkeypatch, path):
    monkeypatch.setattr(catalogue, "catalogue", _boom)
    client = api.client("admin")
    ok = client.get("/api/health")
    assert {k: ok.headers.get(k) for k in PROMISED} == PROMISED  # what every answer carries
    r = client.get(path)
    assert r.status_code == 500
    assert {k: r.headers.get(k) for k in PROMISED} == PROMISED
    assert "secret detail" not in r.text
    if path.startswith("/api"):
        assert_envelope(r, 500, "internal_error")
