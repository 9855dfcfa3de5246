"""Every API endpoint x every role, against the one permission matrix (weixi.api.permissions)."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from tests.api.conftest import MEMBER, assert_envelope
from weixi.api.auth import current_user
from weixi.api.permissions import PERMISSIONS, allowed
from weixi.api.routes import all_routers
from weixi.users.service import ROLES

PUBLIC = {("GET", "/api/health"), ("POST", "/api/auth/login")}  # /api/permissions needs a login (issue 16)
PATH_VALUES = {
    "member_id": MEMBER,
    "redemption_id": "redeem:none",
    "event_id": "none",
    "version": "1",
    "job_id": "none",
    "campaign_id": "none",
    "referee_id": "none",
    "month": "2016-01",
    "staff_id": "clerk",
    "nomination_id": "none",
    "task_id": "2026-09/none/M1",
}
BODIES = {
    ("POST", "/api/events"): {
        "events": [
            {
                "event_id": "walk-1",
                "member_id": MEMBER,
                "type": "bill",
                "occurred_at": "2026-11-01T10:00:00+08:00",
                "amount": "10.00",
            }
        ]
    },
    ("POST", "/api/redemptions"): {"member_id": MEMBER, "reward_id": "bill-credit"},
    ("POST", "/api/plans/check"): {"text": "plan: x\nname: y\n"},
    ("POST", "/api/plans/apply"): {"text": "plan: x\n"},
    ("POST", "/api/close/jobs"): {"month": "1999-01"},
    ("POST", "/api/campaigns/{campaign_id}/draws"): {"member_id": MEMBER},
    ("POST", "/api/users"): {"username": "walker", "password": "long enough 1", "role": "analyst"},
    ("POST", "/api/auth/token/revoke"): {"token": "wx_none"},
    ("POST", "/api/auth/token"): {"name": "walk"},
    ("POST", "/api/incentives/awards"): {
        "period": "2016-01",
        "staff_id": "clerk",
        "award": "excellent",
        "letter": "walk",
    },
    ("POST", "/api/incentives/awards/publication"): {"period": "2016-01"},
}


def api_routes(app) -> list[tuple[str, str, APIRoute]]:
    """Every API operation (from the routers the app includes), checked against the app's OpenAPI spec so that
    no operation escapes the walk."""
    out = []
    for router in all_routers():
        for route in router.routes:
            if isinstance(route, APIRoute):
                out += [(m, route.path_format, route) for m in sorted(route.methods)]  # {task_id:path} -> {task_id}
    spec = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops if p.startswith("/api")}
    assert spec == {(m, p) for m, p, _ in out}
    return out


def permission_of(route: APIRoute) -> str | None:
    """The permission a route's ``require(...)`` dependency checks, if any."""
    found = [getattr(d.call, "permission", None) for d in route.dependant.dependencies]
    found = [p for p in found if p]
    assert len(found) <= 1, route.path
    return found[0] if found else None


def needs_login(route: APIRoute) -> bool:
    def walk(dep) -> bool:
        return dep.call is current_user or any(walk(d) for d in dep.dependencies)

    return walk(route.dependant)


def call(client, method: str, path: str):
    url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "x"), path)
    body = BODIES.get((method, path))
    return (
        client.request(method, url, json=body) if body is not None or method == "POST" else client.request(method, url)
    )


def test_every_api_route_is_public_by_name_or_behind_a_login(api):
    routes = api_routes(api.app)
    assert len(routes) >= 25
    for method, path, route in routes:
        if (method, path) in PUBLIC:
            assert not needs_login(route), path
        else:
            assert needs_login(route), f"{method} {path} has no login: add require(...) or current_user"


def test_every_route_permission_is_in_the_matrix(api):
    used = {permission_of(r) for _, _, r in api_routes(api.app)} - {None}
    assert used and used <= set(PERMISSIONS)


@pytest.mark.parametrize("role", ROLES)
def test_endpoint_by_role_walk(api, role):
    client = api.client(role)
    anonymous = api.client()
    checked = 0
    for method, path, route in api_routes(api.app):
        permission = permission_of(route)
        response = call(client, method, path)
        if permission is not None and not allowed(role, permission):
            err = assert_envelope(response, 403, "forbidden")
            assert permission in err["message"], (method, path)
        else:  # past the permission check: whatever the endpoint answers, it is not the login or role refusal
            assert response.status_code != 401, (role, method, path, response.text)
            refused = response.status_code == 403 and f"may not do this ({permission})" in response.text
            assert not refused, (role, method, path, response.text)
            assert response.status_code < 500, (role, method, path, response.text)
        if (method, path) not in PUBLIC:
            assert_envelope(call(anonymous, method, path), 401)
        checked += 1
    assert checked == len(api_routes(api.app))


def test_a_member_login_reaches_only_its_own_member(api):
    client = api.client("member")
    for path in (
        "/api/members/{m}/balance",
        "/api/members/{m}/statement",
        "/api/members/{m}/redemptions",
        "/api/members/{m}",
    ):
        assert client.get(path.format(m=MEMBER)).status_code != 403
        assert_envelope(client.get(path.format(m="M0000000003")), 403, "not_own_member")
    assert_envelope(
        client.post("/api/redemptions", json={"member_id": "M0000000003", "reward_id": "bill-credit"}),
        403,
        "not_own_member",
    )
    assert_envelope(client.post("/api/members/M0000000003/checkin"), 403, "not_own_member")
