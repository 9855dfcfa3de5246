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
    (r"^task (?P<task>\S+): try (?P<n>\d+) is out of sequence: the task has had (?P<done>\d+) try\(ies\)",
     N_("Task %(task)s: try %(n)s is out of sequence (the task has had %(done)s tries): reload the page. "
        "Nothing was recorded.")),
    (r"^task (?P<task>\S+): try (?P<n>\d+) was already recorded \((?P<outcome>\S+) by (?P<by>[^)]+)\)",
     N_("Task %(task)s: try %(n)s was already recorded (%(outcome)s by %(by)s); nothing was recorded.")),
    (r"^task (?P<task>\S+): unknown outcome '(?P<outcome>[^']*)'",
     N_("Task %(task)s: there is no outcome %(outcome)s; nothing was recorded.")),
    (r"^task (?P<task>\S+): unknown reason '(?P<reason>[^']*)'",
     N_("Task %(task)s: there is no reason %(reason)s; nothing was recorded.")),
    # the operations plan file and the working-day calendar (work, team and care pages)
    (r"^the operations plan has errors:\n(?P<errors>[\s\S]+)",
     N_("The operations plan has errors: %(errors)s")),
    (r"^the working-day calendar \(chinese-calendar (?P<version>[^)]+)\) has no statutory holidays for "
     r"(?P<year>\d+) \((?P<detail>.*)\); install a newer",
     N_("The working-day calendar (chinese-calendar %(version)s) has no statutory holidays for %(year)s "
        "(%(detail)s): install a newer chinese-calendar once the State Council's notice for %(year)s is out.")),
    # plan files applied on the plans page (the console names an upload "console upload by USER: FILE")
    (r"^(?:console upload by \S+: )?(?P<source>.+?): (?P<n>\d+) error\(s\); run 'weixi plan check ",
     N_("The plan %(source)s has %(n)s error(s): check it again.")),
    (r"^(?:console upload by \S+: )?(?P<source>.+?) is not a points plan \(it has a 'kind' other than points\)",
     N_("%(source)s is not a points plan (its kind is not points): only points plans are applied here.")),
    (r"^(?:console upload by \S+: )?(?P<source>.+?): (?P<reward>[^\s:;]+): stock (?P<stock>-?\d+) is below the "
     r"(?P<issued>\d+) units already issued \(stock counts every unit ever issued\)$",
     N_("%(source)s: the stock of reward %(reward)s (%(stock)s) is below the %(issued)s units already issued; "
        "stock counts every unit ever issued.")),
    (r"^(?:console upload by \S+: )?(?P<source>.+?): (?P<details>[^\s:;]+: stock -?\d+ is below the .+) "
     r"\(stock counts every unit ever issued\)$",
     N_("%(source)s: the stock of some rewards is below the units already issued (stock counts every unit ever "
        "issued): %(details)s")),
    # incentive statements: who may see them, and recomputing a month from its files (the difference page)
    (r"^(?P<user>\S+) is not on the roster with a team: a manager sees their team's statements",
     N_("%(user)s is not on the roster with a team: a manager sees their own team's statements.")),
    (r"^(?P<user>\S+) manages team (?P<own>.+?), not (?P<team>.+)$",
     N_("%(user)s manages team %(own)s, not %(team)s.")),
    (r"^(?P<month>\d{4}-\d{2}) has not been published yet: nothing to compare with",
     N_("The statements of %(month)s have not been published yet: nothing to compare with.")),
    (r"^no incentive plans for (?P<month>\S+): put the plan files .* in (?P<dir>.+)$",
     N_("No incentive plans for %(month)s: put the plan files (*.yaml) and the inputs (orders, targets, roster, "
        "violations, referrals as .csv or .parquet) in %(dir)s.")),
    (r"^(?P<path>.+?): (?P<n>\d+) error\(s\) in the plan; run 'weixi plan check ",
     N_("The plan file %(path)s has %(n)s error(s): check it on the plans page.")),
    (r"^(?P<path>.+?) is a points plan, not an incentive plan",
     N_("%(path)s is a points plan, not an incentive plan (it has no kind).")),
    (r"^(?P<path>.+?) is an? (?P<kind>\S+) plan; this command takes incentive or discipline or referral plans$",
     N_("%(path)s is a plan of kind %(kind)s; a month's statements take incentive, discipline or referral plans.")),
    (r"^plan (?P<plan>\S+) is in force from (?P<start>\S+) to (?P<end>\S+); it does not cover (?P<first>\S+) to "
     r"(?P<last>\S+)$",
     N_("Plan %(plan)s is in force from %(start)s to %(end)s; it does not cover %(first)s to %(last)s.")),
    (r"^plan (?P<plan>\S+) is in force from (?P<start>\S+); it does not cover (?P<first>\S+) to (?P<last>\S+)$",
     N_("Plan %(plan)s is in force from %(start)s; it does not cover %(first)s to %(last)s.")),
    (r"^plan (?P<plan>\S+) counts CRM orders: give --orders FILE",
     N_("Plan %(plan)s counts CRM orders: the month has no orders file (orders.csv or orders.parquet).")),
    (r"^plan (?P<plan>\S+) deducts recorded violations: give --violations FILE",
     N_("Plan %(plan)s deducts recorded violations: the month has no violations file (violations.csv or "
        "violations.parquet).")),
    (r"^plan (?P<plan>\S+) rewards referrals: give --referrals FILE",
     N_("Plan %(plan)s rewards referrals: the month has no referrals file (referrals.csv or referrals.parquet).")),
    (r"^(?P<what>orders|targets|roster|violations|referrals) file (?P<path>.+?): no such file$",
     N_("The %(what)s file %(path)s does not exist.")),
    (r"^(?P<what>orders|targets|roster|violations|referrals) file (?P<path>.+?): is a directory$",
     N_("The %(what)s file %(path)s is a directory, not a file.")),
    (r"^(?P<what>orders|targets|roster|violations|referrals) file (?P<path>.+?): cannot read it \((?P<detail>.*)\)$",
     N_("The %(what)s file %(path)s cannot be read (%(detail)s).")),
    (r"^(?P<what>orders|targets|roster|violations|referrals) file (?P<path>.+?): missing column\(s\) "
     r"(?P<missing>.+?) \(needs (?P<needs>.+?); may also have (?P<optional>.*)\)$",
     N_("The %(what)s file %(path)s lacks the column(s) %(missing)s (it needs %(needs)s; it may also have "
        "%(optional)s).")),
    (r"^roster file (?P<path>.+?): (?P<n>\d+) bad row\(s\): (?P<rows>.+) \(and (?P<more>\d+) more\)\. "
     r"Fix the roster and run again; nothing was computed$",
     N_("The roster file %(path)s has %(n)s bad row(s): %(rows)s (and %(more)s more). Fix the roster and try "
        "again; nothing was computed.")),
    (r"^roster file (?P<path>.+?): (?P<n>\d+) bad row\(s\): (?P<rows>.+)\. Fix the roster and run again; "
     r"nothing was computed$",
     N_("The roster file %(path)s has %(n)s bad row(s): %(rows)s. Fix the roster and try again; nothing was "
        "computed.")),
    (r"^targets file (?P<path>.+?): (?P<n>\d+) bad row\(s\): (?P<rows>.+)\. Fix the target list and run again; "
     r"nothing was computed$",
     N_("The targets file %(path)s has %(n)s bad row(s): %(rows)s. Fix the target list and try again; nothing was "
        "computed.")),
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
