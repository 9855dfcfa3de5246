"""API routers, one module per area. ``all_routers`` is what the app includes, in this order."""

from __future__ import annotations


def all_routers() -> list:
    from weixi.api import member_records, operations_manager
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
        surveys,
        system,
    )

    return [
        system.router,
        auth.router,
        ledger.router,
        members.router,
        member_records.router,  # weixi.api.member_records: archive corrections and notes
        plans.router,
        close.router,
        campaigns.router,
        incentives.router,
        retention.router,
        operations.router,
        operations_manager.router,  # weixi.api.operations_manager: the work queue and the manager's duties
        surveys.router,
    ]
