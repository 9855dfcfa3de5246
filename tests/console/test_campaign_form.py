"""The campaign form in-process: every shipped example campaign opens in the form and, posted back as the page
holds it, saves an equivalent plan; the form written into an emptied file gives the same campaign (every value
typed from its text); the checker's errors beside the fields they concern, in Chinese and in English; saving and
editing a draft through the form (comments and other sections kept, audited); the YAML tab and the form carry the
same unsaved file; a campaign past draft is shown read-only."""

from __future__ import annotations

import html
import io
import re
from html.parser import HTMLParser

import pytest

from tests.console import operator as op
from weixi.campaigns import form as campaign_form
from weixi.campaigns import service
from weixi.plans.loader import load_plan_text
from weixi.users import service as users

EXAMPLES = op.ROOT / "plans" / "examples"
CAMPAIGNS = sorted(
    [p for p in EXAMPLES.glob("*.yaml") if "kind: campaign" in p.read_text(encoding="utf-8")]
    + [EXAMPLES / "seed-as-written" / "anniversary-draw.yaml"]
)


class Controls(HTMLParser):
    """The name/value pairs a browser posts for the form ``#campaign-form`` (rows in <template> are not posted;
    an unchecked box is not posted; a select posts its selected option, else its first)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self.in_form = self.in_template = False
        self.select: dict | None = None
        self.textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "campaign-form":
            self.in_form = True
        if not self.in_form:
            return
        if tag == "template":
            self.in_template = True
        if self.in_template or not a.get("name") and tag != "option":
            return
        if tag == "input":
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.pairs.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select = {"name": a["name"], "first": None, "chosen": None}
        elif tag == "option" and self.select is not None:
            value = a.get("value", "")
            self.select["first"] = value if self.select["first"] is None else self.select["first"]
            if "selected" in a:
                self.select["chosen"] = value
        elif tag == "textarea":
            self.textarea = [a["name"]]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea.append(data)

    def handle_endtag(self, tag):
        if tag == "template":
            self.in_template = False
        elif tag == "form":
            self.in_form = False
        elif tag == "select" and self.select is not None:
            s = self.select
            self.pairs.append((s["name"], s["chosen"] if s["chosen"] is not None else s["first"] or ""))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            text = "".join(self.textarea[1:])
            self.pairs.append((self.textarea[0], text[1:] if text.startswith("\n") else text))
            self.textarea = None


def controls(page: str) -> list[tuple[str, str]]:
    parser = Controls()
    parser.feed(page)
    return parser.pairs


def posted(page: str, **changes: str) -> dict:
    """The form as the page holds it, with some fields changed (a value None: the field left out)."""
    pairs = controls(page)
    data: dict = dict(p for p in pairs if p[0] not in ("csrf_token", "_tables"))
    data["_tables"] = [v for k, v in pairs if k == "_tables"]  # one hidden field per table the page holds
    for key, value in changes.items():
        key = key.replace("__", ".")
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def base_of(page: str) -> str:
    return html.unescape(re.search(r'<textarea name="base" hidden>(.*?)</textarea>', page, re.S).group(1))


def open_in_form(client, text: str, editing: str = ""):
    return client.post_form("/campaigns/new", "/campaigns/form/open", {"text": text, "editing": editing})


def field_messages(page: str, place: str) -> str:
    """The text of the messages shown for a form place (a field, a table row or a section)."""
    found = re.findall(
        rf'<div class="field-msg [a-z]+" role="alert" data-for="{re.escape(place)}"[^>]*>(.*?)</div>', page
    )
    return " ".join(html.unescape(m) for m in found)


@pytest.mark.parametrize("path", CAMPAIGNS, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_example_campaign_opens_in_the_form_and_posts_back_an_equivalent_plan(console, path):
    text = path.read_text(encoding="utf-8")
    original, found = load_plan_text(text, path.name)
    analyst = console("analyst")
    page = open_in_form(analyst, text).text
    assert 'id="campaign-form"' in page and base_of(page) == text
    r = analyst.post_form("/campaigns/new", "/campaigns/form", {**posted(page), "do": "check"})
    saved, again = load_plan_text(base_of(r.text), path.name)
    assert [d.code for d in again] == [d.code for d in found]  # the seed-as-written file keeps its one error
    if original is not None:
        assert r.status_code == 200 and 'id="check-ok"' in r.text
        assert saved == original
    else:
        assert r.status_code == 422 and "少了 2 个" in field_messages(r.text, "lottery.daily_total")


@pytest.mark.parametrize("path", CAMPAIGNS[:-1], ids=lambda p: p.name)
def test_the_form_written_into_an_emptied_file_gives_the_same_campaign(path):
    """Each value typed from the form's text (nothing kept from the file): integers, exact decimals, dates,
    draw hours, lists."""
    text = path.read_text(encoding="utf-8")
    form = campaign_form.to_form(text)
    data = campaign_form.load(text)
    for key in list(data):
        if key in campaign_form.SECTION_OF and key != "kind":
            del data[key]
    if "audience" in campaign_form.load(text) and "where" in campaign_form.load(text)["audience"]:
        pytest.skip("a snapshot filter is edited on the YAML tab")
    out = io.StringIO()
    campaign_form.round_trip_yaml().dump(data, out)
    written = campaign_form.apply_form(out.getvalue(), form)
    assert load_plan_text(written, path.name)[0] == load_plan_text(text, path.name)[0]
    if not set(form.others) - {"follow_ups"}:  # a new file: all but the follow-ups, which the form leaves out
        fresh = load_plan_text(campaign_form.apply_form("", form), path.name)[0]
        assert fresh is not None and fresh.objectives == load_plan_text(text, path.name)[0].objectives


def test_the_checkers_errors_are_shown_beside_their_fields_in_chinese_and_english(console):
    text = (EXAMPLES / "midyear-gratitude.yaml").read_text(encoding="utf-8")
    analyst = console("analyst")
    page = open_in_form(analyst, text).text
    bad = posted(
        page,
        window__to="2015-02-30",
        **{
            "objectives.0.target": "许多",
            "budget.2.yuan": "",
            "risks.0.likelihood": "",
            "audience.control.share": "1.5",
        },
    )
    r = analyst.post_form("/campaigns/new", "/campaigns/form", {**bad, "do": "save"})
    assert r.status_code == 422 and 'id="form-save"' in r.text
    print(
        {
            p: field_messages(r.text, p)
            for p in ("window.to", "objectives.0.target", "budget.2", "risks.0.likelihood", "audience.control.share")
        }
    )
    assert "日期" in field_messages(r.text, "window.to")
    assert "数" in field_messages(r.text, "objectives.0.target")
    assert "金额（元）、积分" in field_messages(r.text, "budget.2")  # the fields by their labels, not keys
    assert "可能性" in field_messages(r.text, "risks.0.likelihood")
    assert field_messages(r.text, "objectives.0.target").startswith("目标值：")
    assert field_messages(r.text, "audience.control.share")
    beside = r'id="f-window-to" value="2015-02-30" placeholder="YYYY-MM-DD" aria-invalid="true">\s*(<div class="hint">[^<]*</div>\s*)?<div class="field-msg error"'
    assert re.search(beside, r.text), "the error is not under its field"
    assert 'id="f-window-to" value="2015-02-30"' in r.text  # an impossible date stays as typed, beside its error
    assert len(re.findall(r'<div class="field-msg error"', r.text)) == 5
    errors = re.search(r'id="form-errors">(.*?)</div>', r.text, re.S).group(1)
    assert "5 个错误" in html.unescape(errors) and ">活动目标 第 1 行「目标值」</a>" in html.unescape(errors)
    assert 'href="#f-window-to">结束日期</a>' in errors
    assert service.list_campaigns(analyst.http.app.state.engine) == []  # nothing saved

    analyst.http.cookies.set("weixi_lang", "en")
    r = analyst.post_form("/campaigns/new", "/campaigns/form", {**bad, "do": "check"})
    assert r.status_code == 422
    assert "2015-02-30" in field_messages(r.text, "window.to") and "date" in field_messages(r.text, "window.to")
    assert "5 error(s)" in r.text


def test_a_new_campaign_saved_through_the_form_is_a_draft_with_its_file_and_an_audit_line(console, app):
    analyst = console("analyst")
    page = analyst.get("/campaigns/new").text
    assert 'id="campaign-form"' in page and 'name="objectives.0.metric"' in page  # starts with one objective row
    data = posted(
        page,
        campaign="spring-draw",
        name="春季抽奖",
        window__from="2030-03-01",
        window__to="2030-03-31",
        **{
            "objectives.0.id": "people",
            "objectives.0.target": "300",
            "audience.source": "ledger",
            "audience.control.share": "0.1",
            "budget.0.line": "gifts",
            "budget.0.yuan": "1200.50",
            "has_lottery": "on",
            "lottery.hours.from": "09:30",
            "lottery.hours.to": "11:00",
            "lottery.chances.grant": "1",
            "lottery.prizes.7.id": "cup",
            "lottery.prizes.7.name": "保温杯",
            "lottery.prizes.7.per_day": "20",
            "lottery.prizes.7.value_yuan": "60",
            "lottery.prizes.7._orig": "",
            "risks.3.id": "crowd",
            "risks.3.category": "safety",
            "risks.3.description": "人流集中",
            "risks.3.likelihood": "2",
            "risks.3.impact": "3",
            "risks.3._orig": "",
        },
    )
    r = analyst.post_form("/campaigns/new", "/campaigns/form", {**data, "do": "save"})
    assert r.status_code == 303 and r.headers["location"] == "/campaigns/spring-draw", r.text
    saved = service.file_text(app.state.engine, "spring-draw")
    assert saved["status"] == "draft" and saved["source"] == "spring-draw.yaml"
    c, diags = load_plan_text(saved["text"], "spring-draw.yaml")
    assert not [d for d in diags if d.is_error]
    assert str(c.budget[0].fen) == "120050" and str(c.audience.control_share) == "0.1"
    assert c.lottery.hours is not None and str(c.lottery.prizes[0].per_day) == "20" and c.risks[0].impact == 3
    assert (
        'hours: {from: "09:30", to: "11:00"}' in saved["text"]
        and "window: {from: 2030-03-01, to: 2030-03-31}" in saved["text"]
    )
    entry = users.audit_entries(app.state.engine, action="campaign.create")[0]
    assert entry["subject"] == "spring-draw" and "console form" in str(entry["detail"])


def test_editing_a_draft_keeps_its_comments_and_other_sections_and_deletes_and_adds_rows(console, app):
    text = (EXAMPLES / "points-carnival.yaml").read_text(encoding="utf-8")
    service.create(app.state.engine, text, "points-carnival.yaml", "analyst")
    analyst = console("analyst")
    page = analyst.get("/campaigns/points-carnival/edit").text
    assert 'id="campaign-form"' in page and "readonly" in re.search(r'<input[^>]*id="f-campaign"[^>]*>', page).group(0)
    assert "排行榜" in re.search(r'id="other-sections">(.*?)</span>', page).group(1)
    data = posted(page, **{"lottery.prizes.0.per_day": "3"})
    data = {k: v for k, v in data.items() if not k.startswith("risks.1.")}  # the row deleted on the page
    data.update({"milestones.9.id": "review", "milestones.9.name": "活动复盘", "milestones.9.owner": "运营部"})
    data.update({"milestones.9.due": "2026-10-08", "milestones.9._orig": ""})
    r = analyst.post_form("/campaigns/points-carnival/edit", "/campaigns/form", {**data, "do": "save"})
    assert r.status_code == 303, r.text
    new = service.file_text(app.state.engine, "points-carnival")["text"]
    before, after = load_plan_text(text, "p.yaml")[0], load_plan_text(new, "p.yaml")[0]
    assert [p.per_day for p in after.lottery.prizes] == [3, 30, 50]
    assert [r.id for r in after.risks] == ["system-load", "rules"]
    assert [m.id for m in after.milestones] == ["build", "banner", "flyers", "review"]
    assert after.leaderboard == before.leaderboard and after.referral == before.referral
    assert "# 积分狂欢季 — seed 000_fce1d1bed68df496" in new and "top 10 (ours)" in new  # comments kept
    entry = users.audit_entries(app.state.engine, action="campaign.update")[0]
    assert entry["subject"] == "points-carnival"


def test_the_yaml_tab_and_the_form_carry_the_same_unsaved_file(console):
    text = (EXAMPLES / "anniversary-draw.yaml").read_text(encoding="utf-8")
    analyst = console("analyst")
    page = open_in_form(analyst, text).text
    r = analyst.post_form("/campaigns/new", "/campaigns/form", {**posted(page, name="周年抽奖 改"), "do": "yaml"})
    assert r.status_code == 200 and 'id="campaign-text"' in r.text and 'id="tab-form"' in r.text
    yaml_text = html.unescape(re.search(r'id="campaign-text">(.*?)</textarea>', r.text, re.S).group(1))
    assert "name: 周年抽奖 改" in yaml_text and "# 感恩年中庆好礼送不停" in yaml_text
    back = open_in_form(analyst, yaml_text.replace("per_day: 100,", "per_day: 90,")).text
    assert re.search(r'name="lottery.prizes.9.per_day" id="[^"]+" value="90"', back)
    broken = open_in_form(analyst, "kind: campaign\nname: [unclosed\n")
    assert broken.status_code == 422 and 'id="unreadable"' in broken.text and 'id="campaign-text"' in broken.text
    assert analyst.get("/campaigns/new?view=yaml").text.count('id="campaign-text"') == 1


def test_a_campaign_past_draft_is_shown_read_only_and_others_may_not_post_the_form(console, app):
    text = (EXAMPLES / "points-carnival.yaml").read_text(encoding="utf-8")
    service.create(app.state.engine, text, "points-carnival.yaml", "analyst")
    service.act(app.state.engine, "points-carnival", "submit", "analyst")
    page = console("analyst").get("/campaigns/points-carnival/edit").text
    assert "<fieldset disabled>" in page and 'id="form-save"' not in page and 'id="not-editable"' in page
    manager = console("manager")
    assert manager.get("/campaigns/points-carnival/edit").status_code == 403
    r = manager.post_form("/campaigns", "/campaigns/form", {"do": "save", "campaign": "x"})
    assert r.status_code == 403


def test_a_table_the_post_does_not_carry_is_kept_and_one_whose_rows_were_all_deleted_is_removed():
    text = (EXAMPLES / "anniversary-draw.yaml").read_text(encoding="utf-8")
    before = load_plan_text(text, "a.yaml")[0]
    posted_form = campaign_form.from_post([("name", "周年抽奖"), ("has_lottery", "on"), ("_tables", "risks")])
    after = load_plan_text(campaign_form.apply_form(text, posted_form), "a.yaml")[0]
    assert after.name == "周年抽奖" and after.risks == ()  # the risks table came with no rows
    assert after.milestones == before.milestones and after.lottery == before.lottery  # not in the post: kept
    without_draw = campaign_form.from_post([("_tables", "lottery.prizes")])
    written = campaign_form.apply_form(text, without_draw)  # the box unchecked: the draw leaves the file
    assert "\nlottery:" not in written and "prizes:" not in written and "\nrisks:" in written
