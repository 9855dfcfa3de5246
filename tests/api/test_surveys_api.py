"""The questionnaire API (调研, issue 20 §7): an analyst creates a survey, a manager or agent records a member's
answers (all checked first), the satisfaction figures; who may do what."""

from __future__ import annotations

from tests.api.conftest import ROOT

SURVEY = (ROOT / "plans" / "examples" / "satisfaction-survey.yaml").read_text(encoding="utf-8")


def test_create_answer_and_read_satisfaction_by_role(api):
    analyst, agent, member = api.client("analyst"), api.client("agent"), api.client("member")
    assert member.post("/api/surveys", json={"text": SURVEY}).status_code == 403
    r = analyst.post("/api/surveys", json={"text": SURVEY, "filename": "s.yaml"})
    assert r.status_code == 201 and r.json()["survey_id"] == "satisfaction-2026q4"
    changed = analyst.post("/api/surveys", json={"text": SURVEY.replace("四季度", "三季度")})
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "survey_exists"
    bad = agent.post("/api/surveys/satisfaction-2026q4/answers", json={"member_id": "M1", "answers": {"overall": 7}})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "survey_bad_rating"
    for member_id, score in (("M1", 5), ("M2", 3)):
        r = agent.post(
            "/api/surveys/satisfaction-2026q4/answers",
            json={"member_id": member_id, "answers": {"overall": score, "manager": 4, "channel": "营业厅"}},
        )
        assert r.status_code == 200 and r.json()["complete"], r.text
    assert (
        analyst.post("/api/surveys/satisfaction-2026q4/answers", json={"member_id": "M3", "answers": {}}).status_code
        == 403
    )
    figures = analyst.get("/api/surveys/satisfaction-2026q4/satisfaction").json()
    assert (figures["responses"], figures["average"], figures["satisfied_share"]) == (2, "4.00", "0.5000")
    assert agent.get("/api/surveys/satisfaction-2026q4/satisfaction").status_code == 403
    assert analyst.get("/api/surveys/nope/satisfaction").status_code == 404
