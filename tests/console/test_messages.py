"""Service refusals shown on console pages in the reader's language: the texts come from the services
themselves, so a changed service text that the catalogue no longer recognises fails here."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from weixi import i18n
from weixi.campaigns.lifecycle import transition
from weixi.console.messages import say
from weixi.operations import outcomes
from weixi.service_layer import campaigns

ZH = i18n.translations("zh_CN").ugettext
EN = i18n.translations("en").ugettext


def _raised(fn, *args) -> str:
    with pytest.raises(Exception) as info:
        fn(*args)
    return str(info.value)


def test_campaign_refusals_in_chinese_with_their_values():
    c = SimpleNamespace(id="spring-2027", window=SimpleNamespace(start=date(2027, 1, 20), end=date(2027, 2, 28)))
    draft = _raised(campaigns._running, c, {"status": "draft"}, date(2027, 1, 25), "draw")
    assert say(draft, ZH) == "活动 spring-2027 不在进行中。"
    early = _raised(campaigns._running, c, {"status": "running"}, date(2027, 1, 5), "draw")
    assert say(early, ZH) == "活动 spring-2027 于 2027-01-20 开始(今天是 2027-01-05)。"
    own = _raised(transition, "approve", "submitted", "wang", "wang", "wang", date(2027, 1, 1), date(2027, 1, 20),
                  date(2027, 2, 28))
    assert say(own, ZH) == "wang 创建或提交了该活动:须由另一人审批。"
    assert say(own, EN) == "wang created or submitted this campaign: another person must approve it."


def test_task_outcome_refusals_speak_of_the_form_not_of_command_line_flags():
    declined = "task T-9: " + _raised(outcomes.check, outcomes.Outcome("declined", None, None, None))
    assert say(declined, ZH) == "任务 T-9:请选择客户拒绝的原因。"
    assert "--reason" not in say(declined, EN)
    other = "task T-9: " + _raised(outcomes.check, outcomes.Outcome("declined", "other", None, None))
    assert say(other, ZH) == "任务 T-9:原因为“其他”时,请记下客户的原话。"


def test_a_text_no_pattern_knows_is_shown_as_it_is():
    assert say("the sum of squared spends overflows SQLite's integers", ZH) == \
        "the sum of squared spends overflows SQLite's integers"
    assert say(None, ZH) == ""
