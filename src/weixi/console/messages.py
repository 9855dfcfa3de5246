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

_HINT = r"(?P<hint>(?:; did you mean '[^']*'\?)?)$"  # the plan checker's suggestion, translated by _PARTS

PATTERNS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), m) for p, m in (
    # the points ledger: redemptions and check-ins (self-service and console)
    (r"^not enough points: balance (?P<balance>-?\d+) on \S+, .*needs (?P<needs>\d+)",
     N_("Not enough points: you have %(balance)s, this needs %(needs)s.")),
    (r"^stock: (?P<gift>\S+) has (?P<left>\d+) left, asked (?P<qty>\d+)",
     N_("Only %(left)s of %(gift)s left; %(qty)s were asked for.")),
    (r"^stock: (?!must be |expected )", N_("This reward is out of stock.")),  # not the plan checker's "stock: ..."
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
    # plan-check diagnostics beside each line of the plans page (weixi.plans: spec, values, checks, lint, ...);
    # a value's key comes first ("points: ..."); got/hint/noun/label parts are translated by _PARTS below
    (r"^unknown key '(?P<name>[^']*)' in (?P<label>.+?)" + _HINT,
     N_("Unknown key '%(name)s' in %(label)s%(hint)s")),
    (r"^key '(?P<name>[^']*)' does not apply to a (?P<variant>\S+) (?P<noun>.+?) \(it is for: (?P<others>[^)]+)\)$",
     N_("The key '%(name)s' does not apply to a %(noun)s of type %(variant)s (it is for: %(others)s).")),
    (r"^missing required key '(?P<name>[^']*)' in (?P<label>.+) \((?P<variant>[^()]+)\)$",
     N_("The key '%(name)s' is required in %(label)s (%(variant)s).")),
    (r"^missing required key '(?P<name>[^']*)' in (?P<label>.+)$",
     N_("The key '%(name)s' is required in %(label)s.")),
    (r"^keys must be text, got (?P<got>.+) in (?P<label>.+)$",
     N_("Keys in %(label)s must be text, not %(got)s.")),
    (r"^unknown (?P<tag>\S+) '(?P<value>[^']*)' for (?P<noun>.+?), expected one of (?P<names>.+?)" + _HINT,
     N_("Unknown %(tag)s '%(value)s' for %(noun)s; expected one of %(names)s%(hint)s")),
    (r"^(?P<tag>[^\s:]+): expected one of (?P<names>.+), got (?P<got>[^,]+)$",
     N_("%(tag)s: expected one of %(names)s, got %(got)s.")),
    (r"^(?P<key>[^\s:]+): (?P<noun>.+?) must be from (?P<low>-?\d+) to (?P<high>-?\d+), got (?P<value>\S+)$",
     N_("%(key)s: %(noun)s must be from %(low)s to %(high)s, got %(value)s.")),
    (r"^a review month must be from 1 to 12, got (?P<value>\S+)$",
     N_("A review month must be from 1 to 12, got %(value)s.")),
    (r"^duplicate review month (?P<value>\S+) \(first at line (?P<line>\d+), column (?P<column>\d+)\)$",
     N_("Review month %(value)s is repeated (first at line %(line)s, column %(column)s).")),
    (r"^review_months needs at least one month",
     N_("review_months needs at least one month: downgrades happen only at a review.")),
    (r"^rule '(?P<rule>[^']*)' can never award: applies_to names no base rule$",
     N_("Rule '%(rule)s' can never award: applies_to names no base rule.")),
    (r"^tier '(?P<tier>[^']*)' needs qualify: the tier_policy evaluates every tier but the lowest "
     r"\((?P<measure>\S+) in (?P<unit>[^)]+)\)$",
     N_("Tier '%(tier)s' needs qualify: the tier_policy evaluates every tier but the lowest (%(measure)s in "
        "%(unit)s).")),
    (r"^(?P<noun>.+?) takes only one of (?P<options>.+); found (?P<found>.+)$",
     N_("%(noun)s takes only one of %(options)s; it has %(found)s.")),
    (r"^(?P<noun>[^:']+?) needs one of (?P<options>.+)$", N_("%(noun)s needs one of %(options)s.")),
    (r"^(?P<key>[^\s:]+): expected a mapping \((?P<noun>[^)]+)\), got (?P<got>.+)$",
     N_("%(key)s: expected a mapping (%(noun)s), got %(got)s.")),
    (r"^expected a mapping \((?P<noun>[^)]+)\), got (?P<got>.+)$", N_("Expected a mapping (%(noun)s), got %(got)s.")),
    (r"^(?P<key>[^\s:]+): expected a list, got (?P<got>.+) \(write \[(?P<fix>.*)\]\)$",
     N_("%(key)s: expected a list, got %(got)s (write [%(fix)s]).")),
    (r"^(?P<key>[^\s:]+): expected a list, got (?P<got>.+)$", N_("%(key)s: expected a list, got %(got)s.")),
    (r"^(?P<key>[^\s:]+): expected a whole number, got (?P<got>.+)$",
     N_("%(key)s: expected a whole number, got %(got)s.")),
    (r"^(?P<key>[^\s:]+): expected a number, got (?P<got>.+)$", N_("%(key)s: expected a number, got %(got)s.")),
    (r"^(?P<key>[^\s:]+): expected a finite number, got (?P<got>.+)$",
     N_("%(key)s: expected a finite number, got %(got)s.")),
    (r"^(?P<key>[^\s:]+): expected text, got (?P<got>.+)$", N_("%(key)s: expected text, got %(got)s.")),
    (r"^(?P<key>[^\s:]+): expected true or false, got (?P<got>.+)$",
     N_("%(key)s: expected true or false, got %(got)s.")),
    (r"^(?P<key>[^\s:]+): expected a date YYYY-MM-DD, got (?P<got>.+)$",
     N_("%(key)s: expected a date YYYY-MM-DD, got %(got)s.")),
    (r"^(?P<key>[^\s:]+): bad date '(?P<value>[^']*)': expected YYYY-MM-DD$",
     N_("%(key)s: '%(value)s' is not a date YYYY-MM-DD.")),
    (r"^(?P<key>[^\s:]+): bad date '(?P<value>[^']*)': (?P<detail>.+)$",
     N_("%(key)s: '%(value)s' is not a valid date (%(detail)s).")),
    (r"^(?P<key>[^\s:]+): must be a positive whole number, got (?P<value>\S+)$",
     N_("%(key)s: must be a positive whole number, got %(value)s.")),
    (r"^(?P<key>[^\s:]+): must be zero or more, got (?P<value>\S+)$",
     N_("%(key)s: must be zero or more, got %(value)s.")),
    (r"^(?P<key>[^\s:]+): must be greater than zero, got (?P<value>\S+)$",
     N_("%(key)s: must be greater than zero, got %(value)s.")),
    (r"^(?P<key>[^\s:]+): '(?P<value>[^']*)' is not a valid id: use lower-case letters, digits, '-' and '_'$",
     N_("%(key)s: '%(value)s' is not a valid id: use lower-case letters, digits, '-' and '_'.")),
    (r"^(?P<key>[^\s:]+): unknown time zone '(?P<value>[^']*)'" + _HINT,
     N_("%(key)s: unknown time zone '%(value)s'%(hint)s")),
    (r"^(?P<key>[^\s:]+): unknown event type '(?P<value>[^']*)'" + _HINT,
     N_("%(key)s: unknown event type '%(value)s'%(hint)s")),
    (r"^(?P<key>[^\s:]+): event type '(?P<value>[^']*)' cannot trigger an earning rule \(earning events: "
     r"(?P<events>[^)]+)\)$",
     N_("%(key)s: the event type '%(value)s' cannot trigger an earning rule (earning events: %(events)s).")),
    (r"^(?P<key>[^\s:]+): expected 'never' or one of (?P<forms>.+?), got (?P<got>.+?)" + _HINT,
     N_("%(key)s: expected 'never' or one of %(forms)s, got %(got)s%(hint)s")),
    (r"^(?P<key>[^\s:]+): unknown (?P<noun>[^']+?) '(?P<value>[^']*)', expected one of (?P<names>.+?)" + _HINT,
     N_("%(key)s: unknown %(noun)s '%(value)s'; expected one of %(names)s%(hint)s")),
    (r"^(?P<key>[^\s:]+): expected (?P<noun>[^(]+?) \((?P<names>[^)]+)\), got (?P<got>.+)$",
     N_("%(key)s: expected %(noun)s (%(names)s), got %(got)s.")),
    (r"^duplicate (?P<noun>.+?) '(?P<value>[^']*)' \(first defined at line (?P<line>\d+), column (?P<column>\d+)\)$",
     N_("Duplicate %(noun)s '%(value)s' (first defined at line %(line)s, column %(column)s).")),
    (r"^unknown (?P<noun>tier|rule id) '(?P<value>[^']*)'" + _HINT, N_("Unknown %(noun)s '%(value)s'%(hint)s")),
    (r"^window ends \((?P<end>[^)]+)\) before it starts \((?P<start>[^)]+)\)$",
     N_("The window ends (%(end)s) before it starts (%(start)s).")),
    (r"^(?P<key>[^\s:]+) (?P<yuan>\S+) is not a whole number of fen \(at most 2 decimals\)$",
     N_("%(key)s %(yuan)s is not a whole number of fen (at most 2 decimals).")),
    (r"^invalid YAML: found duplicate key \"(?P<name>[^\"]*)\" with value \"(?P<value>[^\"]*)\" "
     r"\(original value: \"(?P<original>[^\"]*)\"\)$",
     N_("Invalid YAML: the key \"%(name)s\" appears twice (value \"%(value)s\"; the first value is "
        "\"%(original)s\").")),
    (r"^invalid YAML: (?P<detail>[\s\S]+)$", N_("Invalid YAML: %(detail)s")),
    (r"^the plan file is empty; it needs at least 'plan' and 'name'$",
     N_("The plan file is empty; it needs at least 'plan' and 'name'.")),
    (r"^a plan file must be a mapping of keys \(plan, name, earning, rewards, \.\.\.\)$",
     N_("A plan file must be a mapping of keys (plan, name, earning, rewards, ...).")),
    (r"^points never expire: outstanding points stay a liability forever",
     N_("Points never expire: outstanding points stay a liability forever (set expiry, or write 'expiry: never' "
        "on purpose and accept this warning).")),
    (r"^tier '(?P<tier>[^']*)' has multiplier (?P<multiplier>\S+) but no tier_multiplier rule uses it$",
     N_("Tier '%(tier)s' has multiplier %(multiplier)s but no tier_multiplier rule uses it.")),
    (r"^reward '(?P<reward>[^']*)' has stock 0 and can never be redeemed$",
     N_("Reward '%(reward)s' has stock 0 and can never be redeemed.")),
    (r"^rule '(?P<rule>[^']*)' can never award: multiplier 1 adds no points$",
     N_("Rule '%(rule)s' can never award: multiplier 1 adds no points.")),
    (r"^rule '(?P<rule>[^']*)' can never award: no tier has a multiplier other than 1$",
     N_("Rule '%(rule)s' can never award: no tier has a multiplier other than 1.")),
    (r"^rule '(?P<rule>[^']*)' can never award: there is no spend or recharge rule$",
     N_("Rule '%(rule)s' can never award: there is no spend or recharge rule.")),
    (r"^(?P<noun>rule|reward) '(?P<id>[^']*)' window ends (?P<end>\S+): it can never (?:award|be redeemed)$",
     N_("The window of %(noun)s '%(id)s' ends on %(end)s: it can never be used.")),
    (r"^multiplier must be at least 1, got (?P<value>\S+)",
     N_("multiplier must be at least 1, got %(value)s (a rule adds (multiplier - 1) x the base points).")),
    (r"^an action rule needs at least one event in 'on'$", N_("An action rule needs at least one event in 'on'.")),
    (r"^an action rule reacts to (?P<events>.+), not '(?P<value>[^']*)'$",
     N_("An action rule reacts to %(events)s, not '%(value)s'.")),
    (r"^applies_to names multiplier rule '(?P<rule>[^']*)'; multipliers apply to base rules only$",
     N_("applies_to names the multiplier rule '%(rule)s'; multipliers apply to base rules only.")),
    (r"^a campaign window needs both from and to$", N_("A campaign window needs both from and to.")),
    (r"^tier '(?P<tier>[^']*)' has qualify but the plan has no tier_policy",
     N_("Tier '%(tier)s' has qualify but the plan has no tier_policy (which measure, over which window).")),
    (r"^tier '(?P<tier>[^']*)' is the lowest tier, where every member starts: it takes no qualify \(or 0\), "
     r"got (?P<value>\S+)$",
     N_("Tier '%(tier)s' is the lowest tier, where every member starts: it takes no qualify (or 0), got %(value)s.")),
    (r"^qualify of tier '(?P<tier>[^']*)' \(rank (?P<rank>-?\d+)\) must be more than (?P<floor>\S+) of tier "
     r"'(?P<below>[^']*)' \(rank (?P<below_rank>-?\d+)\): thresholds increase with rank$",
     N_("The qualify of tier '%(tier)s' (rank %(rank)s) must be more than %(floor)s of tier '%(below)s' (rank "
        "%(below_rank)s): thresholds increase with rank.")),
    (r"^tier_policy needs tiers to evaluate$", N_("tier_policy needs tiers to evaluate.")),
    (r"^a merchant reward needs at least one merchant$", N_("A merchant reward needs at least one merchant.")),
    # the plan's segments (weixi.plans.segments): star levels, value pyramid, activity grades, key accounts
    (r"^(?P<key>tenure_years|table) needs at least one entry$", N_("%(key)s needs at least one entry.")),
    (r"^the first tenure column must be 0 so that every member has one$",
     N_("The first tenure column must be 0 so that every member has one.")),
    (r"^the first row must have arpu_yuan 0 so that every member has one$",
     N_("The first row must have arpu_yuan 0 so that every member has one.")),
    (r"^tenure_years must be strictly ascending: (?P<value>\S+) after (?P<before>\S+)$",
     N_("tenure_years must be strictly ascending: %(value)s after %(before)s.")),
    (r"^arpu_yuan of the rows must be strictly ascending: (?P<value>\S+) after (?P<before>\S+)$",
     N_("arpu_yuan of the rows must be strictly ascending: %(value)s after %(before)s.")),
    (r"^a star level must be from (?P<low>\d+) to (?P<high>\d+), got (?P<value>\S+)$",
     N_("A star level must be from %(low)s to %(high)s, got %(value)s.")),
    (r"^this row has (?P<n>\d+) star levels for (?P<columns>\d+) tenure columns: one per tenure_years column$",
     N_("This row has %(n)s star levels for %(columns)s tenure columns: one per tenure_years column.")),
    (r"^star levels go down with a longer tenure in this row$",
     N_("Star levels go down with a longer tenure in this row.")),
    (r"^star levels go down with a higher ARPU in this row$",
     N_("Star levels go down with a higher ARPU in this row.")),
    (r"^cut (?P<grade>\S+) must be less than 1 \(a share of the total contribution\), got (?P<value>\S+)$",
     N_("Cut %(grade)s must be less than 1 (a share of the total contribution), got %(value)s.")),
    (r"^cut (?P<grade>\S+) has more than (?P<n>\d+) decimals: (?P<value>\S+)$",
     N_("Cut %(grade)s has more than %(n)s decimals: %(value)s.")),
    (r"^cuts must increase: (?P<grade>\S+) (?P<value>\S+) is not more than (?P<before_grade>\S+) (?P<before>\S+)$",
     N_("Cuts must increase: %(grade)s %(value)s is not more than %(before_grade)s %(before)s.")),
    (r"^activity grade '(?P<grade>[^']*)' needs max_days_since or min_touches$",
     N_("Activity grade '%(grade)s' needs max_days_since or min_touches.")),
    (r"^key_accounts needs at least one level$", N_("key_accounts needs at least one level.")),
    (r"^key account level '(?P<level>[^']*)' can never match: level '(?P<before>[^']*)' before it has no condition "
     r"and takes everyone left$",
     N_("Key account level '%(level)s' can never match: level '%(before)s' before it has no condition and takes "
        "everyone left.")),
    (r"^min_active_months (?P<months>\d+) is more than window_months (?P<window>\d+): level '(?P<level>[^']*)' can "
     r"never match$",
     N_("min_active_months %(months)s is more than window_months %(window)s: level '%(level)s' can never match.")),
    # retention plans (weixi.plans.retention): shares, probabilities, the offers
    (r"^(?P<key>[^\s:]+): must be a share from 0 up to \(not including\) 1, e\.g\. \"0\.1\", got (?P<value>\S+)$",
     N_("%(key)s: must be a share from 0 up to (not including) 1, e.g. \"0.1\", got %(value)s.")),
    (r"^(?P<key>[^\s:]+): must be a probability from 0 to 1, got (?P<value>\S+)$",
     N_("%(key)s: must be a probability from 0 to 1, got %(value)s.")),
    (r"^(?P<key>[^\s:]+): must be a number from 0 to 1, got (?P<value>\S+)$",
     N_("%(key)s: must be a number from 0 to 1, got %(value)s.")),
    (r"^a retention plan is a mapping: kind: retention, plan, name, expiring, high_risk, control, value, offers$",
     N_("A retention plan is a mapping: kind: retention, plan, name, expiring, high_risk, control, value, offers.")),
    (r"^offer id '(?P<offer>[^']*)' is used twice$", N_("Offer id '%(offer)s' is used twice.")),
    (r"^offers: the catalogue needs at least one offer$", N_("offers: the catalogue needs at least one offer.")),
    (r"^cannot read retention plan: no such file$", N_("Cannot read the retention plan: there is no such file.")),
    (r"^cannot read retention plan: (?P<reason>[\s\S]+)$", N_("Cannot read the retention plan: %(reason)s")),
))


def say(text: str | None, gettext: Callable[[str], str]) -> str:
    """``text`` in the language of ``gettext`` when a pattern knows it, else ``text`` unchanged."""
    if not text:
        return text or ""
    for pattern, message in PATTERNS:
        found = pattern.match(text)
        if found:
            values = {k: _PARTS[k](v, gettext) if k in _PARTS and v else v for k, v in found.groupdict().items()}
            return gettext(message) % values
    return text


# the parts of plan-check diagnostics that are themselves English: how a value is named ("got text 'x'"), the
# suggestion ("; did you mean 'x'?") and the names of the plan's sections ("earning rule 'bill'")
_GOT = tuple((re.compile(p), m) for p, m in (
    (r"^text '(?P<value>.*)'$", N_("text '%(value)s'")),
    (r"^the number (?P<value>\S+)$", N_("the number %(value)s")),
    (r"^the date (?P<value>\S+)$", N_("the date %(value)s")),
    (r"^(?P<value>true|false) \(a boolean\)$", N_("%(value)s (a boolean)")),
    (r"^a mapping$", N_("a mapping")),
    (r"^a list$", N_("a list")),
    (r"^nothing$", N_("nothing")),
))
NOUNS = {n: n for n in (
    N_("plan"), N_("earning rule"), N_("reward"), N_("tier"), N_("merchant"), N_("cap"), N_("streak"),
    N_("audience"), N_("limit"), N_("window"), N_("star row"), N_("key account level"), N_("activity grade"),
    N_("retention plan"), N_("offer"), N_("reward id"), N_("rule id"), N_("tier id"), N_("tier rank"), N_("cap id"),
    N_("merchant id"), N_("key account id"), N_("rounding"), N_("consumption order"), N_("reversal policy"),
    N_("cap period"), N_("audience members"), N_("referral requirement"), N_("the number of bins"),
    N_("eligibility"), N_("card role"), N_("payment type"), N_("network"), N_("list"), N_("value source"), N_("kind"),
)}
_LABEL = re.compile(r"^(?P<noun>.+?) '(?P<id>[^']*)'$")


def _got(text: str, gettext: Callable[[str], str]) -> str:
    for pattern, message in _GOT:
        found = pattern.match(text)
        if found:
            return gettext(message) % found.groupdict()
    return text


def _hint(text: str, gettext: Callable[[str], str]) -> str:
    return gettext(N_("; did you mean '%(name)s'?")) % {"name": text[len("; did you mean '"):-len("'?")]}


def _noun(text: str, gettext: Callable[[str], str]) -> str:
    return gettext(text) if text in NOUNS else text


def _label(text: str, gettext: Callable[[str], str]) -> str:
    """``earning rule 'bill'`` -> the section's name translated, the id kept."""
    found = _LABEL.match(text)
    if found and found.group("noun") in NOUNS:
        return f"{gettext(found.group('noun'))} '{found.group('id')}'"
    return _noun(text, gettext)


_PARTS: dict[str, Callable[[str, Callable[[str], str]], str]] = {"got": _got, "hint": _hint, "noun": _noun,
                                                                  "label": _label}
