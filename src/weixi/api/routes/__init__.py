"""API routers, one module per area. ``all_routers`` is what the app includes, in this order."""

from __future__ import annotations


def all_routers() -> list:
    from weixi.api.routes import (
        auth,
        campaigns,
        close,
        incentives,
        ledger,
        members,
        operations,
        plans,
        retention,
        system,
    )

    return [
        system.router,
        auth.router,
        ledger.router,
        members.router,
        plans.router,
        close.router,
        campaigns.router,
        incentives.router,
        retention.router,
        operations.router,
    ]
