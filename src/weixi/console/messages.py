"""The services' refusal and error texts in the reader's language.

Services speak English (the CLI and the API show their texts as they are); a console page shows them through
:func:`say` (the ``say`` filter in templates), which matches each text against the patterns below and renders
the catalogue's translation with the values it found. A text no pattern knows is shown as it is, so a new
message is never lost, only untranslated. The patterns are anchored at the start of the text and name the
values they carry over; ids, dates and numbers pass through unchanged.
"""

from __future__ import annotations

import re
from typing import Callable

from weixi.i18n import N_

PATTERNS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), m) for p, m in (
    # the points ledger: redemptions and check-ins (self-service and console)
    (r"^not enough points: balance (?P<balance>-?\d+) on \S+, .*needs (?P<needs>\d+)",
     N_("Not enough points: you have %(balance)s, this needs %(needs)s.")),
    (r"^stock: (?P<gift>\S+) has (?P<left>\d+) left, asked (?P<qty>\d+)",
     N_("Only %(left)s of %(gift)s left; %(qty)s were asked for.")),
    (r"^stock: ", N_("This reward is out of stock.")),
    (r"^limit: \S+ allows (?P<limit>\d+) per member per day", N_("You have reached today's limit for this reward.")),
    (r"^limit: \S+ allows (?P<limit>\d+) per member per month",
     N_("You have reached this month's limit for this reward.")),
    (r"^limit: \S+ allows (?P<limit>\d+) per member", N_("You have reached the limit of %(limit)s for this reward.")),
    (r"^reward \S+ is not available on", N_("This reward is not available today.")),
    (r"^reward \S+ is for tiers (?P<tiers>.+); member is", N_("This reward is only for tiers %(tiers)s.")),
    (r"^ref: unknown reward", N_("There is no such reward.")),
    (r"^already checked in on", N_("You have already checked in today.")),
    (r"^member \S+ has not signed up", N_("Sign up first: this programme needs registration.")),
    # campaigns
    (r"^.+? refused: campaign (?P<campaign>\S+) is not running", N_("Campaign %(campaign)s is not running.")),
    (r"^.+? refused: the window of (?P<campaign>\S+) opens on (?P<start>\S+) \(today is (?P<day>[^)]+)\)",
     N_("The window of campaign %(campaign)s opens on %(start)s (today is %(day)s).")),
    (r"^.+? refused: the window of (?P<campaign>\S+) ended on (?P<end>\S+) \(today is (?P<day>[^)]+)\)",
     N_("The window of campaign %(campaign)s ended on %(end)s (today is %(day)s).")),
    (r"^buying chances refused: not enough points: balance (?P<balance>-?\d+) on \S+, .*needs (?P<needs>\d+)",
     N_("Not enough points: you have %(balance)s, this needs %(needs)s.")),
    (r"^campaign (?P<campaign>\S+) is (?P<status>\w+): only a draft can be edited",
     N_("Campaign %(campaign)s is no longer a draft: only a draft can be edited.")),
    (r"^campaign (?P<campaign>\S+) is (?P<status>\w+): start it before promoting",
     N_("Start campaign %(campaign)s before promoting it.")),
    (r"^the audience of (?P<campaign>\S+) is empty", N_("The audience of campaign %(campaign)s is empty: nobody to run it for.")),
    (r"^member (?P<member>\S+) is in the control group of (?P<campaign>\S+)",
     N_("Member %(member)s is in the control group of campaign %(campaign)s and is held out of it.")),
    (r"^member (?P<member>\S+) is not in the audience of (?P<campaign>\S+)$",
     N_("Member %(member)s is not in the audience of campaign %(campaign)s.")),
    (r"^unknown member (?P<member>\S+): not in the ledger nor in the campaign's audience",
     N_("There is no member %(member)s.")),
    (r"^no chances left: member (?P<member>\S+)", N_("Member %(member)s has no draw chances left.")),
    (r"^member (?P<member>\S+) has drawn (?P<n>\d+) times today: the limit is (?P<limit>\d+)",
     N_("Member %(member)s has drawn %(n)s times today; the limit is %(limit)s.")),
    (r"^no prizes left today \((?P<day>[^)]+)\)", N_("No prizes left today (%(day)s).")),
    (r"^member (?P<member>\S+) already has (?P<had>\d+) of (?P<gift>\S+): the limit is (?P<limit>\d+)",
     N_("Member %(member)s already has %(had)s of %(gift)s; the limit is %(limit)s.")),
    (r"^(?P<who>\S+) created or submitted this campaign: another person must approve it",
     N_("%(who)s created or submitted this campaign: another person must approve it.")),
    (r"^(?P<who>\S+) created or submitted this campaign: another person must reject it",
     N_("%(who)s created or submitted this campaign: another person must reject it.")),
    (r"^(?P<who>\S+) is the referrer: another person must review this referral",
     N_("%(who)s is the referrer: another person must review this referral.")),
    (r"^say why the campaign is rejected", N_("Say why the campaign is rejected.")),
    (r"^the amount must be more than zero", N_("The amount must be more than zero.")),
    (r"^unknown campaign '?(?P<campaign>[^' :]+)'?", N_("There is no campaign %(campaign)s.")),
    # retention tasks and outcomes
    (r"^task (?P<task>\S+) is already (?P<status>\w+) \(outcome (?P<outcome>\S+) by (?P<by>\S+) at (?P<at>[^)]+)\)",
     N_("Task %(task)s is already closed (outcome %(outcome)s by %(by)s at %(at)s); nothing was recorded.")),
    (r"^task (?P<task>\S+) is an? (?P<kind>\S+) task: its outcome is recorded by the outbox",
     N_("Task %(task)s is a message: the outbox records its delivery.")),
    (r"^task (?P<task>\S+): declined needs --reason", N_("Task %(task)s: choose why the member declined.")),
    (r"^task (?P<task>\S+): reason 'other' needs --note",
     N_("Task %(task)s: for the reason \"other\", write down what the member said.")),
    (r"^task (?P<task>\S+): accepted needs the offer",
     N_("Task %(task)s: choose the offer the member accepted.")),
    (r"^task (?P<task>\S+): callback needs --at", N_("Task %(task)s: give the time to call back.")),
    (r"^task (?P<task>\S+): call back at (?P<at>\S+) refused — (?P<detail>.+?); pick another time",
     N_("Task %(task)s: calling back at %(at)s is not allowed (%(detail)s); pick another time. Nothing was recorded.")),
    (r"^task (?P<task>\S+): the call-back time (?P<at>\S+) is not in the future",
     N_("Task %(task)s: the call-back time %(at)s is not in the future; nothing was recorded.")),
    (r"^no task '?(?P<task>[^':]+)'?:", N_("There is no task %(task)s.")),
    (r"^no staff member (?P<staff>\S+)", N_("There is no staff member %(staff)s.")),
    (r"^member (?P<member>\S+): no (?P<kind>\S+) task created — (?P<detail>.+) \(rule: (?P<rule>[^)]+)\)",
     N_("No task was created for member %(member)s: the contact policy forbids it (%(detail)s; rule %(rule)s).")),
))


def say(text: str | None, gettext: Callable[[str], str]) -> str:
    """``text`` in the language of ``gettext`` when a pattern knows it, else ``text`` unchanged."""
    if not text:
        return text or ""
    for pattern, message in PATTERNS:
        found = pattern.match(text)
        if found:
            return gettext(message) % found.groupdict()
    return text
