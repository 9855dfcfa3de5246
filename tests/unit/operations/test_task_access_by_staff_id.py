"""A login acts on tasks as its staff id (issue 19 §12: "a person has one staff id everywhere"): an agent whose login
name differs from its roster id records the outcome of the tasks assigned to that id, and no one else's."""

from __future__ import annotations

from weixi.operations.reports import may_record
from weixi.users.repository import User

TASK = {"assignee": "S000901", "escalated_to": None, "team": "T9"}


def test_the_assignee_records_by_the_logins_staff_id():
    assert may_record(User(1, "zhao", "agent", staff_id="S000901"), TASK)
    assert not may_record(User(2, "zhao", "agent"), TASK)  # no staff id: the username "zhao" is not S000901
    assert not may_record(User(3, "li", "agent", staff_id="S000902"), TASK)


def test_without_a_staff_id_the_username_is_the_staff_id():
    assert may_record(User(4, "S000901", "agent"), TASK)
