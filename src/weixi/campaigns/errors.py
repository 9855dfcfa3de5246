"""The campaigns' refusals: one base class, so callers can catch any of them, and a kind per HTTP status.

Each is raised with a code and params (``raise CampaignRefused("campaign_box_empty", day=day, tickets=n)``); the
sentence in either language comes from the error catalogue (:mod:`weixi.messages`).
"""

from __future__ import annotations

from typing import Any

from weixi.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable, WeixiError, Where


class CampaignError(WeixiError):
    """Any refusal of the campaigns area; its kind (below) gives the status."""


class CampaignInvalid(CampaignError, Invalid):
    """The request or the file is wrong: fix it and try again."""


class CampaignNotFound(CampaignError, NotFound):
    """The campaign, member, gift, milestone, referral ... does not exist."""


class CampaignRefused(CampaignError, Conflict):
    """Refused in the campaign's current state (not running, no chances left, stock out ...)."""


class CampaignForbidden(CampaignError, Forbidden):
    """The user's role may not take this step."""


class CampaignUnavailable(CampaignError, Unavailable):
    """Not possible yet (no active points plan): retry later."""


class CampaignFileInvalid(CampaignInvalid):
    """A campaign file with errors; ``diagnostics`` holds each, located (file:line:col)."""

    def __init__(self, code: str, where: Where | None = None, /, diagnostics: list | None = None, **params: Any):
        super().__init__(code, where, **params)
        self.diagnostics = list(diagnostics or [])
