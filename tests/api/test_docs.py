"""/docs works offline: Swagger UI from the vendored files, nothing loaded from outside the machine."""

from __future__ import annotations

import re

from tests.api.conftest import ROOT


def test_docs_page_references_only_local_assets(api):
    c = api.client()
    html = c.get("/docs").text
    refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html) + re.findall(r"url:\s*'([^']+)'", html)
    assert refs, html
    assert not re.search(r"https?://", html), "the docs page names an outside address"
    for ref in refs:
        assert ref.startswith("/"), ref
        r = c.get(ref)
        assert r.status_code == 200 and len(r.content) > 0, ref
    assert "/static/swagger-ui/swagger-ui-bundle.js" in refs and "/openapi.json" in refs
    assert '"validatorUrl": null' in html  # swagger's online validator badge stays off


def test_vendored_assets_match_the_vendor_script():
    script = (ROOT / "scripts" / "vendor-assets.sh").read_text()
    pinned = re.search(r"vendor swagger-ui-dist (\S+) swagger-ui", script).group(1)
    static = ROOT / "src" / "weixi" / "console" / "static" / "swagger-ui"
    assert (static / "VERSION").read_text().strip() == f"swagger-ui-dist@{pinned}"
    assert (static / "LICENSE").exists()


def test_openapi_documents_every_endpoint_with_a_summary(api):
    spec = api.client().get("/openapi.json").json()
    ops = [(m, p, op) for p, item in spec["paths"].items() for m, op in item.items()]
    assert len(ops) >= 25
    for method, path, op in ops:
        assert op.get("description") or op.get("summary"), (method, path)
    assert "/api/redemptions" in spec["paths"] and "/api/close/jobs/{job_id}" in spec["paths"]


def test_api_md_names_every_endpoint(api):
    doc = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    spec = api.client().get("/openapi.json").json()
    missing = [f"{m.upper()} {p}" for p, item in spec["paths"].items() for m in item if f"{m.upper()} {p}" not in doc]
    assert missing == []
