"""The archive corrections' checks (issue 20 §5) and the counter's exact lookup kinds (issue 18 §1), without I/O."""

from __future__ import annotations

from datetime import date

import pytest

from weixi.members import archive, lookup

TODAY = date(2026, 12, 5)


@pytest.mark.parametrize(
    ("field", "given", "stored"),
    [
        ("email", " zhang.san@example.com ", "zhang.san@example.com"),
        ("qq", "123456789", "123456789"),
        ("wechat", "zhangsan_88", "zhangsan_88"),
        ("second_contact", "139-0000 1111", "13900001111"),
        ("birthday", "1980-05-01", "1980-05-01"),
        ("lunar_birthday", "三月初五", "农历三月初五"),  # written as the CRM writes it
        ("lunar_birthday", "农历闰四月十二", "农历闰四月十二"),
        ("hobbies", "钓鱼、乒乓球", "钓鱼、乒乓球"),
        ("family_notes", "", None),  # an empty value clears the field
    ],
)
def test_a_value_is_stored_as_people_write_it(field, given, stored):
    assert archive.clean(field, given, TODAY) == stored


@pytest.mark.parametrize(
    ("field", "given", "code"),
    [
        ("email", "zhang.san", "archive_email_invalid"),
        ("qq", "0123456", "archive_qq_invalid"),
        ("qq", "1234", "archive_qq_invalid"),
        ("wechat", "张三 88", "archive_wechat_invalid"),
        ("second_contact", "call me", "archive_phone_invalid"),
        ("birthday", "1980-13-01", "archive_birthday_invalid"),
        ("birthday", "2026-12-06", "archive_birthday_out_of_range"),  # tomorrow
        ("birthday", "1899-12-31", "archive_birthday_out_of_range"),
        ("lunar_birthday", "十三月初一", "archive_lunar_birthday_invalid"),
        ("personality", "直" * 501, "archive_value_too_long"),
        ("income", "5k", "archive_field_unknown"),
    ],
)
def test_a_malformed_value_is_refused_by_its_code(field, given, code):
    with pytest.raises(archive.ArchiveInvalid) as refused:
        archive.clean(field, given, TODAY)
    assert refused.value.code == code


def test_the_overlay_lays_the_latest_corrections_over_the_file_row():
    row = {"member_id": "M1", "birthday": date(1980, 1, 1), "hobbies": None}
    fixed = archive.overlay(row, {"birthday": {"value": "1980-05-01"}, "qq": {"value": "12345"}})
    assert fixed == {"member_id": "M1", "birthday": "1980-05-01", "hobbies": None, "qq": "12345"}
    assert archive.overlay(row, {}) is row


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("13812345678", "phone"),
        ("440301199001011234", "id_number"),
        ("44030119900101123x", "id_number"),
        ("440301900101123", "id_number"),  # the old 15-digit number
        ("+8613812345678", "phone"),
    ],
)
def test_the_counter_finds_by_a_whole_phone_or_id_number(text, kind):
    assert lookup.kind_of(lookup.normalise(text)) == kind


@pytest.mark.parametrize("text", ["张", "M0000000002", "1234", "138 1234 5678 9012 3456 789"])
def test_anything_else_is_refused_at_the_counter(text):
    with pytest.raises(lookup.LookupInvalid):
        lookup.kind_of(lookup.normalise(text))
