"""the lake ledger's balances (issue 21): a member's ``balance`` counts the SQL ledger's lots only; the points of the
lake months the member is not folded through stay the lake's until a fold brings them in (the close no longer
writes every member's balance). A ledger whose balances counted the lake takes its unfolded points out of them:
the balance over both stores is unchanged.

Revision ID: 0025
Revises: 0024
"""

from alembic import op

from weixi.adapters.sql import executemany
from weixi.ledger.fold import lake_balances

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

CHUNK = 50_000


def _move(sign: int) -> None:
    conn = op.get_bind()
    unfolded = lake_balances(conn)  # None without lake months: nothing to move
    rows = [(sign * points, member) for member, points in sorted((unfolded or {}).items()) if points]
    for start in range(0, len(rows), CHUNK):
        executemany(conn, "UPDATE members SET balance = balance + ? WHERE member_id = ?", rows[start : start + CHUNK])


def upgrade() -> None:
    _move(-1)


def downgrade() -> None:
    _move(+1)
