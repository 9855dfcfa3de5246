"""Every setting Weixi reads from the environment, declared once as data: name, type, default and help.

Code reads a variable through its :class:`Setting` (``settings.DB.value()``), never through ``os.environ``, and
reads it when it needs it (``weixi serve`` sets some for its worker processes; tests set others), so nothing is
cached at import. ``docs/settings.md`` is generated from :data:`SETTINGS` (``python -m weixi.settings``);
``tests/unit/test_settings.py`` fails when ``src/`` names a ``WEIXI_*`` variable not declared here, when a
variable is read around this module, or when the page is stale.

:data:`DEFAULT_TIMEZONE` is the timezone of a plan that names none (and of the places that have no plan at hand);
code that has a plan uses the plan's ``timezone``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from weixi.errors import Invalid

DEFAULT_TIMEZONE = "Asia/Shanghai"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingError(Invalid, ValueError):
    """A variable set to a value of the wrong form; it names the variable."""


@dataclass(frozen=True)
class Setting:
    """One ``WEIXI_*`` environment variable. ``type`` is ``str``, ``int`` or ``bool`` (1/true/yes/on, 0/false/no/off);
    ``default`` is what :meth:`value` gives when the variable is unset or empty (None: no default); ``choices``, if
    any, are the values accepted."""

    name: str
    help: str
    default: Any = None
    type: type = str
    choices: tuple[str, ...] = ()
    secret: bool = False

    def raw(self) -> str | None:
        """The variable as set, or None when it is unset or empty."""
        return os.environ.get(self.name) or None

    def is_set(self) -> bool:
        return self.raw() is not None

    def value(self) -> Any:
        """The variable parsed to its type, else the default. A value of the wrong form is a ``ValueError`` that
        names the variable."""
        raw = self.raw()
        if raw is None:
            return self.default
        if self.choices and raw not in self.choices:
            raise SettingError("setting_not_a_choice", name=self.name, value=raw, choices=list(self.choices))
        if self.type is bool:
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise SettingError("setting_not_bool", name=self.name, value=raw)
        if self.type is int:
            try:
                return int(raw)
            except ValueError:
                raise SettingError("setting_not_int", name=self.name, value=raw) from None
        return raw


# --------------------------------------------------------------------------- where the data lives
DB = Setting(
    "WEIXI_DB", "Database: a SQLite file or a URL (`postgresql://…`); `--db` overrides it.", default="weixi.db"
)
DATA = Setting(
    "WEIXI_DATA",
    "Data directory: the member archive, close snapshots, churn scores, target lists, the "
    "outbox; `--data`/`--data-dir` override it.",
    default="weixi-data",
)
OPS_PLAN = Setting(
    "WEIXI_OPS_PLAN",
    "Operations plan (queues, SLAs, care calendar); default the packaged "
    "`weixi/data/operations.yaml`; `--plan` overrides it.",
)
POINTS_BUDGET = Setting(
    "WEIXI_POINTS_BUDGET",
    "The programme's monthly points budget: its burn (points issued in the month / budget) is in the close "
    "summary's programme figures, the API and the dashboard; `weixi close --budget` overrides it. Default: none.",
    type=int,
)

# --------------------------------------------------------------------------- the server (weixi serve)
SECURE_COOKIES = Setting(
    "WEIXI_SECURE_COOKIES",
    "Session cookies with the `Secure` flag (set for its workers by `weixi serve`, 0 under `--insecure-cookies`).",
    default=True,
    type=bool,
)
WRITER = Setting(
    "WEIXI_WRITER",
    "Where a worker's group-commit writer runs (set for its workers by `weixi serve --writer`).",
    default="thread",
    choices=("thread", "process"),
)
CSRF_SECRET = Setting(
    "WEIXI_CSRF_SECRET",
    "Hex key of the login form's CSRF token, shared by the workers of one "
    "`weixi serve --workers N` (set by it; default: a random key per process).",
    secret=True,
)
TRUSTED_PROXIES = Setting(
    "WEIXI_TRUSTED_PROXIES",
    "Comma-separated addresses or networks of reverse proxies whose "
    "`X-Forwarded-For`/`X-Forwarded-Proto` are believed (`weixi serve --trusted-proxies`); "
    "default none.",
)
PASSWORD = Setting("WEIXI_PASSWORD", "Password for `weixi users create` (`--password`); default: prompt.", secret=True)

# --------------------------------------------------------------------------- batch work
DUCKDB_MEMORY = Setting(
    "WEIXI_DUCKDB_MEMORY",
    "Memory limit of the DuckDB work of the close, the member search index and churn scoring "
    "(DuckDB's syntax: `6GB`, `512MB`); beyond it DuckDB spills to disk. `auto`: 40% of the machine's memory, "
    "in whole GB, at least 1GB (on a 24 GB machine, 9GB).",
    default="auto",
)
LOOKUP_MEMORY = Setting(
    "WEIXI_LOOKUP_MEMORY",
    "Memory, in MB, each process keeps Parquet footers in for member lookups (member 360, the fold of a member's "
    "lake months, the archive): about 0.8 KB a row group and column. Past it the least recently read files' "
    "footers are read again when needed. A year-old 10,000,000-member operator's lookups read ~1,100 MB of them.",
    default=1024,
    type=int,
)
SCORE_THREADS = Setting(
    "WEIXI_SCORE_THREADS",
    "Threads of the churn model's prediction and explanation (`weixi churn score`).",
    default=1,
    type=int,
)
ACCRUAL = Setting(
    "WEIXI_ACCRUAL",
    "How the close posts a month's bills and recharges: `set` (set-based, the usual) "
    "or `batches` (through the Book, batch by batch; slower, same rows).",
    default="set",
    choices=("set", "batches"),
)
LEDGER_STORE = Setting(
    "WEIXI_LEDGER_STORE",
    "Where the close and `weixi events post` write a month's accruals: `lake` (the Delta table `DATA/lake/accruals`; "
    "a member's lake months are folded into the SQL ledger when the member is first touched) or `sql` (every bill "
    "into the SQL ledger, as before the lake: the ledger grows by every bill's event, lot and journal entries).",
    default="lake",
    choices=("sql", "lake"),
)

# --------------------------------------------------------------------------- message channels
SMS_GATEWAY = Setting(
    "WEIXI_SMS_GATEWAY",
    "SMS through an HTTP gateway (`https://host/path`); default: the file adapter under DATA/outbox.",
)
SMS_TOKEN = Setting("WEIXI_SMS_TOKEN", "Bearer token sent to the SMS gateway.", secret=True)
SMTP = Setting("WEIXI_SMTP", "E-mail over SMTP (`host:port`); default: the file adapter under DATA/outbox.")
SMTP_FROM = Setting("WEIXI_SMTP_FROM", "Sender address of the e-mails sent.", default="weixi@localhost")
SMTP_USER = Setting("WEIXI_SMTP_USER", "SMTP login (with `WEIXI_SMTP_PASSWORD`); default: no login.")
SMTP_PASSWORD = Setting("WEIXI_SMTP_PASSWORD", "SMTP password (with `WEIXI_SMTP_USER`).", secret=True)
SMTP_STARTTLS = Setting("WEIXI_SMTP_STARTTLS", "Upgrade the SMTP connection with STARTTLS.", default=False, type=bool)

SETTINGS: tuple[Setting, ...] = (
    DB,
    DATA,
    OPS_PLAN,
    POINTS_BUDGET,
    SECURE_COOKIES,
    WRITER,
    CSRF_SECRET,
    TRUSTED_PROXIES,
    PASSWORD,
    DUCKDB_MEMORY,
    LOOKUP_MEMORY,
    SCORE_THREADS,
    ACCRUAL,
    LEDGER_STORE,
    SMS_GATEWAY,
    SMS_TOKEN,
    SMTP,
    SMTP_FROM,
    SMTP_USER,
    SMTP_PASSWORD,
    SMTP_STARTTLS,
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}

# Read by the test suite and the benchmarks only (tests/conftest.py, benchmarks/), never by the package; declared here
# so that they are documented in the same place.
DEVELOPMENT: tuple[Setting, ...] = (
    Setting(
        "WEIXI_TEST_PG_URL",
        "PostgreSQL URL the ledger suite also runs on (set by `make test`: `scripts/with-postgres.sh` and its "
        "throwaway cluster); unset: the PostgreSQL tests are skipped.",
    ),
    Setting(
        "WEIXI_REQUIRE_PG",
        "With 1, a missing `WEIXI_TEST_PG_URL` fails the run instead of skipping (CI).",
        default=False,
        type=bool,
    ),
    Setting("WEIXI_BENCH_ONLY", "Comma-separated names of the benchmarks to run (`make bench`); default all."),
    Setting("WEIXI_BENCH_SCALE", "Scale of the benchmarks' sizes, e.g. `0.1` for a quick look.", default="1"),
    Setting("WEIXI_BENCH_CLOSE_MEMBERS", "Members of the close benchmark's operator (default 10,000,000 x scale)."),
    Setting("WEIXI_BENCH_OPERATOR", "Directory of an operator generated earlier for the close benchmark, reused."),
    Setting(
        "WEIXI_BENCH_CLOSE_MONTHS",
        "Months of the close benchmark's operator: every one closed, the last measured (12: a year-old operator).",
        default="2",
    ),
    Setting(
        "WEIXI_BENCH_CLOSE_REPEATS",
        "Closes of the close benchmark's measured month, each from the same state and followed by the floor; the "
        "ratios' median is reported (`close_1m`: 5).",
        default="1",
    ),
    Setting(
        "WEIXI_BENCH_CLOSE_STORE",
        "Ledger store of the close benchmark: `lake` (`WEIXI_LEDGER_STORE=lake`) or `sql` (every bill in SQL).",
        default="lake",
    ),
    Setting("WEIXI_BENCH_CHURN_DATA", "Directory of an operator generated earlier for the churn benchmark, reused."),
)


def _default(s: Setting) -> str:
    if s.default is None:
        return "—"
    if s.type is bool:
        return "`1`" if s.default else "`0`"
    return f"`{s.default}`"


def _rows(declared: tuple[Setting, ...]) -> list[str]:
    return [
        f"| `{s.name}` | {s.type.__name__}{' (secret)' if s.secret else ''} | {_default(s)} | "
        f"{s.help}{' One of ' + ', '.join(f'`{c}`' for c in s.choices) + '.' if s.choices else ''} |"
        for s in declared
    ]


def duckdb_memory() -> str:
    """:data:`DUCKDB_MEMORY` as DuckDB's ``memory_limit``: ``auto`` (the default) is 40% of the machine's physical
    memory in whole GB, at least 1GB. (A fixed 6GB default left a 10,000,000-member close on a 24 GB machine
    spilling: its accrual's files took 32.9 s under 6GB and 18.5 s under 9GB, the peak 6.1 and 6.3 GB.)"""
    value = DUCKDB_MEMORY.value()
    if value != "auto":
        return value
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, int(total * 0.4 / 2**30))}GB"


def render_markdown() -> str:
    """docs/settings.md: one row per setting, then the test suite's and benchmarks' own variables."""
    head = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    return "\n".join(
        [
            "# Settings",
            "",
            "<!-- generated by `python -m weixi.settings > docs/settings.md` from weixi.settings; do not edit -->",
            "",
            "Weixi reads these environment variables, and no others (`tests/unit/test_settings.py` checks it). A "
            "command-line option, where there is one, wins over its variable. Booleans are `1`/`true`/`yes`/`on` or "
            "`0`/`false`/`no`/`off`; an unset or empty variable takes its default.",
            "",
            f"The timezone is not a setting: it is the plan's `timezone` (default `{DEFAULT_TIMEZONE}`).",
            "",
            *head,
            *_rows(SETTINGS),
            "",
            "## For the test suite and the benchmarks",
            "",
            "Read by `tests/` and `benchmarks/` only, never by the package.",
            "",
            *head,
            *_rows(DEVELOPMENT),
            "",
        ]
    )


if __name__ == "__main__":
    print(render_markdown(), end="")
