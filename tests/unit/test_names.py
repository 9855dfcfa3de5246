"""The display-name registry (``weixi/locale/*/LC_MESSAGES/names.po``, :mod:`weixi.names`): every code of the
source's code sets that reaches a person has a name in English and in Chinese, and the console shows names."""

from __future__ import annotations

import re

import pytest

from weixi import names
from weixi.campaigns import incidents as campaign_incidents
from weixi.campaigns import model as campaigns
from weixi.campaigns import model as campaigns_model
from weixi.campaigns.referral_service import STATUSES as REFERRAL_STATUSES
from weixi.churn.features import FEATURE_NAMES
from weixi.churn.model import CANDIDATES as CHURN_MODELS
from weixi.incentives.roles import OTHER as OTHER_ROLE
from weixi.incentives.roles import ROLES as STAFF_ROLES
from weixi.ledger.events import EVENT_TYPES as LEDGER_EVENT_TYPES
from weixi.ledger.queries import KINDS_EARNED, KINDS_REDEEMED, KINDS_REVERSED
from weixi.members.fields import CARD_ROLES, COMPLAINT_CHANNELS, PAYMENT_TYPES
from weixi.members.taxonomy import CHURN_REASONS, COMPLAINT_CATEGORIES
from weixi.messaging.outbox import CHANNELS as MESSAGE_CHANNELS
from weixi.messaging.outbox import STATUSES as MESSAGE_STATUSES
from weixi.operations.outcomes import OUTCOMES, REASONS
from weixi.operations.plan import CHANNELS as TASK_CHANNELS
from weixi.operations.plan import ROLES as TASK_ROLES
from weixi.operations.plan import TASK_KINDS
from weixi.operations.policy import CONSENT_CHANNELS, CONSENT_PURPOSES
from weixi.operations.policy import KINDS as CONSENT_KINDS
from weixi.operations.service import plan_or_fail as operations_plan
from weixi.plans.model import VALUE_GRADES, RewardType
from weixi.plans.retention import CARD_ROLES as PLAN_CARD_ROLES
from weixi.plans.retention import PAYMENT as PLAN_PAYMENT
from weixi.plans.schema import EVENT_TYPES
from weixi.settings import DEFAULT_TIMEZONE
from weixi.targets.build import LISTS
from weixi.users.service import ROLES

TASK_STATUSES = ("open", "done", "blocked", "no_capacity")  # ops_tasks.status (operations/*.py)
RISK_QUINTILES = tuple(f"risk_q{n}" for n in range(1, 6))  # targets/build.py: a stratum without a value grade
TIER_EVENTS = ("upgraded", "downgraded", "will_downgrade")  # segments/tiers.py: tier_events.event
LEDGER_KINDS = (*KINDS_EARNED, *KINDS_REDEEMED, *KINDS_REVERSED, "expire")

CODE_SETS = {
    "role": ROLES,
    "churn_reason": (*(code for code, _, _ in CHURN_REASONS), *REASONS),
    "churn_feature": FEATURE_NAMES,
    "value_grade": VALUE_GRADES,
    "segment": (*VALUE_GRADES, *RISK_QUINTILES),
    "list_kind": LISTS,
    "task_kind": TASK_KINDS,
    "task_status": TASK_STATUSES,
    "outcome": OUTCOMES,
    "event_type": (*EVENT_TYPES, *LEDGER_EVENT_TYPES),
    "ledger_kind": LEDGER_KINDS,
    "channel": (*TASK_CHANNELS, *MESSAGE_CHANNELS, *campaigns.CHANNELS, *CONSENT_CHANNELS),
    "consent": CONSENT_KINDS,
    "consent_purpose": CONSENT_PURPOSES,
    "campaign_status": campaigns.STATUSES,
    "payment_type": (*PAYMENT_TYPES.values(), *PLAN_PAYMENT),
    "card_role": (*CARD_ROLES.values(), *PLAN_CARD_ROLES),
    "message_status": MESSAGE_STATUSES,
    "referral_status": REFERRAL_STATUSES,
    "tier_event": TIER_EVENTS,
    "activity_grade": ("active", "normal", "silent"),  # segments/activity.py
    "staff_role": (*STAFF_ROLES, *TASK_ROLES, OTHER_ROLE),
    "complaint_category": tuple(code for code, _, _ in COMPLAINT_CATEGORIES),
    "complaint_channel": COMPLAINT_CHANNELS.values(),
    "churn_model": tuple(CHURN_MODELS),
    "calibration": ("isotonic", "sigmoid"),  # churn/model.py: the calibrator's methods
    "privilege": ("speed-boost",),  # plans/examples/telecom-points.yaml: the shipped plan's privilege rewards
    "sla_rule": tuple(r.id for r in operations_plan(None).rules),  # the shipped operations plan's rules
    "timezone": (DEFAULT_TIMEZONE, "UTC"),  # a plan's timezone in the label of a time
    "risk_category": campaigns_model.RISK_CATEGORIES,  # a campaign plan's risk register
    "risk_level": ("high", "medium", "low"),  # campaigns/model.py: Risk.level from likelihood x impact
    "risk_outcome": campaign_incidents.OUTCOMES,  # campaigns/incidents.py: a risk's follow-up at the close-out
    "reward_type": tuple(t.value for t in RewardType),  # a plan reward's type (the catalogue page)
}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("kind", sorted(CODE_SETS))
def test_every_code_of_the_source_has_a_name_in_both_languages(kind):
    codes = sorted(set(CODE_SETS[kind]))
    assert codes, kind
    for locale in ("en", "zh_CN"):
        have = names.registry(locale)
        missing = [c for c in codes if f"{kind}.{c}" not in have]
        assert not missing, f"{kind} codes without a {locale} name: {missing}"


def test_chinese_names_are_chinese_and_english_names_are_not_codes():
    zh, en = names.registry("zh_CN"), names.registry("en")
    assert set(zh) == set(en)
    for key, name in zh.items():
        assert CJK.search(name), (key, name)
        assert "_" not in name, (key, name)
    for key, name in en.items():
        assert "_" not in name and name[0].isupper(), (key, name)
    assert set(names.kinds()) == set(CODE_SETS)


def test_display_falls_back_to_english_then_to_the_code():
    assert names.display("churn_reason", "competitor_offer", "zh-CN") == "竞争对手优惠"
    assert names.display("churn_reason", "competitor_offer", "en") == "Competitor's offer"
    assert names.display("task_status", "open", "zh") == "待处理"
    assert names.display("segment", "risk_q9", "zh_CN") == "risk_q9"
    assert names.display("segment", None, "zh_CN") == ""
    assert names.names("payment_type", "zh_CN") == {"prepaid": "预付费", "postpaid": "后付费"}


def test_plan_names_read_the_plans_own_names():
    plan = {
        "tiers": [{"id": "gold", "name": "金卡"}, {"id": "silver", "name": None}],
        "rewards": [{"id": "bill-credit", "name": "话费抵扣"}],
    }
    got = names.plan_names(plan)
    assert got["tier"] == {"gold": "金卡"} and got["reward"] == {"bill-credit": "话费抵扣"}
    assert names.plan_names(None)["tier"] == {}


def test_console_filters_show_names_in_the_pages_language():
    from weixi.console.render import environment

    template = '{{ "high_risk"|name("list_kind") }} {{ "retention_call"|name("task_kind") }} {{ x|name("role") }}'
    assert environment("zh_CN").from_string(template).render(x="agent") == "高离网风险 维系外呼 外呼坐席"
    assert environment("en").from_string(template).render(x="agent") == "High churn risk Retention call Outbound agent"
    plan = '{{ "gold"|plan_name("tier") }}'
    assert environment("zh_CN").from_string(plan).render(request=None) == "gold"
