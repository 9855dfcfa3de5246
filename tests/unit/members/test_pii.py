from weixi.members.pii import mask_id_number, mask_phone, mask_row


def test_masks():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("13812341234", reveal=True) == "13812341234"
    assert mask_id_number("440301199001011234") == "440301********1234"
    assert mask_id_number("44030119900101123X") == "440301********123X"
    assert mask_phone(None) is None and mask_phone("123") == "***"
    row = {
        "member_id": "M1",
        "phone": "13812341234",
        "second_contact": "13900001111",
        "id_number": "440301199001011234",
    }
    assert mask_row(row) == {"member_id": "M1", "phone": "138****1234", "second_contact": "139****1111",
                             "id_number": "440301********1234"}  # fmt: skip
    assert mask_row(row, reveal=True) == row
