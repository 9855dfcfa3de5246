"""`weixi statement` prints a campaign's award note as a sentence, not as the code and JSON the journal stores."""

from weixi.campaigns.closing import leaderboard_note, streak_note
from weixi.campaigns.lottery_service import prize_note
from weixi.cli.ledger import note_text


def test_award_notes_read_as_sentences():
    assert note_text(f"campaign C7: {leaderboard_note('C7', 2, 300)}") == (
        "leaderboard rank 2 of C7 (300 points earned)"
    )
    assert note_text(f"campaign C7: {streak_note('C7', 14, 20)}") == "14-day check-in streak in C7"
    prize = prize_note("C9", 3, "P1", "话费 10 元")
    assert note_text(f"campaign C9: {prize}") == "lottery draw 3 of C9: 话费 10 元"


def test_other_notes_as_written():
    assert note_text("goodwill after an outage") == "goodwill after an outage"
    assert note_text("campaign C1: something else") == "campaign C1: something else"
    assert note_text("") == ""
