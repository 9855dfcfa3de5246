"""Command-line entry point: ``weixi``. Thin adapters over the service layer."""

from __future__ import annotations

from weixi.cli import campaigns as _campaigns  # noqa: F401,E402
from weixi.cli import churn as _churn  # noqa: F401,E402

# Each module registers its commands on ``app`` when imported.
from weixi.cli import close as _close  # noqa: F401,E402
from weixi.cli import clv as _clv  # noqa: F401,E402
from weixi.cli import demo as _demo  # noqa: F401,E402
from weixi.cli import generate as _generate  # noqa: F401,E402
from weixi.cli import incentives as _incentives  # noqa: F401,E402
from weixi.cli import ledger as _ledger  # noqa: F401,E402
from weixi.cli import load as _load  # noqa: F401,E402
from weixi.cli import member as _member  # noqa: F401,E402
from weixi.cli import operations as _operations  # noqa: F401,E402
from weixi.cli import plan as _plan  # noqa: F401,E402
from weixi.cli import serve as _serve  # noqa: F401,E402
from weixi.cli import targets as _targets  # noqa: F401,E402
from weixi.cli.app import app
from weixi.cli.output import coded_errors

coded_errors(app)


def main() -> None:
    app()
