"""Reasons as values, and their sentences in the reader's language (issue 18 §2).

A reason is a value: the feature (its index in the model's features), the member's value of it, a comparison
value where the sentence needs one (for a change against the 3-month average: the member's value this month,
from which the average follows) and the **sentence kind** :func:`kinds` picks for it. Sentences live in one
place, the message catalogue (``weixi/locale/*/LC_MESSAGES/errors.po``, entries ``churn_why.<kind>``, with the
words ``churn_why_thing.<x>`` and ``churn_why_unit.<x>`` they use); a feature's name comes from
:mod:`weixi.names` (kind ``churn_feature``). Params: ``value`` (the member's value: integers, yuan with two
decimals), ``avg`` (the 3-month average), ``pct`` (the change in whole percent), ``days``, ``name``.

A value without a sentence is no reason: :func:`kinds` gives -1 for a missing value that means nothing (a
change without an earlier month), a change that rounds to 0 %, a flag that is off, and :func:`speakable` keeps
such features out of the member's three reasons (:mod:`weixi.churn.score`). Rendering is set-based: the distinct
(feature, kind, value, comparison) rows are rendered by one DuckDB statement per feature and every member takes
its row's words.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from weixi import messages, names
from weixi.adapters.duck import lit

LOCALES = ("en", "zh_CN")  # lang 0, lang 1

# feature -> (thing, unit) of a change against the 3-month average, and the feature of the month's own value
CHANGES: dict[str, tuple[str, str | None, str | None]] = {
    "bill_change": ("bill", "yuan", "bill_yuan"),
    "voice_change": ("voice", "minutes", "voice_minutes"),
    "data_change": ("data", "mb", "data_mb"),
    "sms_change": ("sms", None, None),
    "recharge_change": ("recharge", "yuan", "recharge_yuan"),
}
YUAN = {"monthly_rent_yuan", "arpu_yuan", "bill_yuan", "recharge_yuan"}

# Only one reason of a group per member: the one the model weighs most (port-out asked in 30 and in 90 days is
# one fact; a change's sentence already says the month's value).
GROUPS: tuple[tuple[str, ...], ...] = (
    ("portout_30d", "portout_90d"),
    ("complaints_30d", "complaints_90d", "unresolved_complaints_30d"),
    *((c, now) for c, (_, _, now) in CHANGES.items() if now),
)

_ALWAYS = (
    "tenure_months age broadband_mbps monthly_rent_yuan arpu_yuan bill_yuan voice_minutes data_mb "
    "recharge_yuan days_since_recharge history_months points_balance"
).split()
_POSITIVE = (
    "unpaid_bills_90d complaints_30d unresolved_complaints_30d complaints_90d miit_complaints_90d "
    "portout_30d portout_90d tier_downgrades_90d points_expiring_60d"
).split()
_FLAG_ON = {"migrant": "migrant", "prepaid": "prepaid", "secondary": "secondary", "value_added_dropped": None}
_FLAG_OFF = {"network_5g": "on_4g", "broadband": "no_broadband"}


def kinds(feature: str, v: np.ndarray, now: np.ndarray | None = None) -> list[tuple[np.ndarray, str]]:
    """``(rows, sentence kind)`` pairs for ``feature``'s values ``v`` (NaN: missing), first match wins; a row
    no pair covers has no sentence. ``now``: the month's own value of a change feature (NaN: not known)."""
    v = np.asarray(v, dtype=np.float64)
    known = ~np.isnan(v)
    with np.errstate(invalid="ignore"):
        if feature in _ALWAYS:
            return [(known, feature)]
        if feature in _POSITIVE:
            return [(known & (v >= 0.5), feature)]
        if feature in _FLAG_ON:
            return [(known & (v >= 0.5), _FLAG_ON[feature] or feature)]
        if feature in _FLAG_OFF:
            return [(known & (v < 0.5), _FLAG_OFF[feature])]
        if feature == "secondary_cards":
            return [(known & (v < 0.5), "no_secondary_cards")]
        if feature == "survey_score":
            return [(known, "survey_score"), (~known, "no_survey")]
        if feature in ("contract_days_left", "subsidy_days_left"):
            what = feature.split("_")[0]
            return [(known & (v >= 0), f"{what}_ends"), (known & (v < 0), f"{what}_ended"), (~known, f"no_{what}")]
        if feature == "points_redeemed_90d":
            return [(known & (v < 0.5), "no_points_redeemed"), (known, "points_redeemed_90d")]
        if feature in CHANGES:
            moved = known & (np.round(np.abs(v) * 100) >= 1)
            has_now = np.zeros(len(v), bool) if now is None else ~np.isnan(np.asarray(now, np.float64))
            stopped = moved & (v <= -1)
            full = moved & has_now & ~stopped
            return [
                (stopped, "change_stopped"),
                (full & (v < 0), "change_down"),
                (full, "change_up"),
                (moved & (v < 0), "trend_down"),
                (moved, "trend_up"),
            ]
        return [(known, "other")]  # an analyst's own column


def choose(feature: str, v: np.ndarray, now: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """The index of each row's sentence kind in the returned list (-1: none)."""
    out = np.full(len(v), -1, np.int16)
    found = []
    for rows, kind in kinds(feature, v, now):
        if kind not in found:
            found.append(kind)
        out[(out < 0) & rows] = found.index(kind)
    return out, found


def speakable(feature: str, v: np.ndarray, now: np.ndarray | None = None) -> np.ndarray:
    """True where the value has a sentence: only such values may be a member's reason."""
    return choose(feature, v, now)[0] >= 0


def one_per_group(contrib: np.ndarray, features: list[str]) -> None:
    """Keep, in every row, only the largest contribution of each :data:`GROUPS` (others become -inf), in place."""
    where = {f: j for j, f in enumerate(features)}
    rows = np.arange(contrib.shape[0])
    for group in GROUPS:
        cols = [where[f] for f in group if f in where]
        if len(cols) < 2:
            continue
        block = contrib[:, cols]
        best = block.argmax(axis=1)
        keep = block[rows, best]
        block[:] = -np.inf
        block[rows, best] = keep
        contrib[:, cols] = block


def kind_names(features: list[str], codes: np.ndarray, values: np.ndarray, nows: np.ndarray) -> pa.Array:
    """Each reason's sentence kind (``change_down``, ``portout_30d``, ...; null: no reason or no sentence)."""
    codes = np.asarray(codes, np.int64)
    out = np.full(len(codes), -1, np.int64)
    found: list[str] = []
    for f in np.unique(codes[codes >= 0]).tolist():
        rows = np.flatnonzero(codes == f)
        k, kinds_f = choose(features[f], np.asarray(values, np.float64)[rows], np.asarray(nows, np.float64)[rows])
        for x in kinds_f:
            if x not in found:
                found.append(x)
        ids = np.array([found.index(x) for x in kinds_f] + [-1])
        out[rows] = ids[k]  # no sentence (k = -1) takes the last id: -1
    return pa.array(found, pa.string()).take(pa.array(np.maximum(out, 0), mask=out < 0))


def _word(key: str, locale: str) -> str:
    for loc in dict.fromkeys((locale, "en")):
        entry = messages.catalogue(loc).get(key)
        if entry is not None:
            return entry.text
    raise KeyError(key)


def _params(feature: str, locale: str) -> dict[str, str]:
    """SQL expressions of a sentence's params over ``v`` (the value) and ``b`` (the month's own value)."""
    thing, unit, _ = CHANGES.get(feature, (None, None, None))
    money = feature in YUAN or unit == "yuan"
    fmt = (lambda x: f"printf('%.2f', {x})") if money else (lambda x: f"CAST(CAST(round({x}) AS BIGINT) AS VARCHAR)")
    out = {
        "value": fmt("b" if feature in CHANGES else "v"),
        "avg": fmt("b / (1 + v)"),
        "pct": "CAST(CAST(round(abs(v) * 100) AS INTEGER) AS VARCHAR)",
        "days": "CAST(CAST(round(abs(v)) AS BIGINT) AS VARCHAR)",
        "name": lit(names.display("churn_feature", feature, locale)),
    }
    if feature not in CHANGES and feature not in _ALWAYS + _POSITIVE + ["points_redeemed_90d", "survey_score"]:
        out["value"] = "CAST(v AS VARCHAR)"  # an analyst's own column: the value as it is
    if thing:
        out["thing"] = lit(_word(f"churn_why_thing.{thing}", locale))
        out["thing_lower"] = lit(_word(f"churn_why_thing_lower.{thing}", locale))
        out["unit"] = lit(_word(f"churn_why_unit.{unit}", locale)) if unit else "''"
    return out


def sentence_sql(feature: str, kind: str, locale: str) -> str:
    """The SQL expression of one sentence kind of ``feature`` over columns ``v`` and ``b``."""
    params = _params(feature, locale)
    parts = re.split(r"\{(\w+)\}", _word(f"churn_why.{kind}", locale))
    sql = [lit(p) if i % 2 == 0 else params[p] for i, p in enumerate(parts) if p or i % 2]
    return " || ".join(sql) if sql else "''"


def _dense(keys: np.ndarray) -> np.ndarray:
    """Each key's index among the distinct keys (hash-based, linear time)."""
    return pc.dictionary_encode(pa.array(keys)).indices.to_numpy().astype(np.int64)


def _bits(x: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), np.nan, x + 0.0).view(np.int64)  # -0.0 and 0.0 alike, every NaN alike


def render(
    con, features: list[str], codes: np.ndarray, values: np.ndarray, nows: np.ndarray | None = None
) -> tuple[pa.Array, pa.Array]:
    """The English and Chinese sentences of reasons (``codes``: index into ``features``, -1 for no reason;
    ``values``: the feature's value, NaN when missing; ``nows``: a change feature's month value, NaN when not
    known). A reason without a sentence (:func:`speakable`) is null. Each distinct row is rendered once."""
    n = len(codes)
    codes = np.asarray(codes, np.int64)
    values = np.asarray(values, np.float64)
    nows = np.full(n, np.nan) if nows is None else np.asarray(nows, np.float64)
    present = codes >= 0
    if n == 0 or not present.any() or not features:
        empty = pa.nulls(n, pa.string())
        return empty, empty
    kind = np.full(n, -1, np.int64)
    lists: dict[int, list[str]] = {}
    for f in np.unique(codes[present]).tolist():
        rows = np.flatnonzero(codes == f)
        k, lists[f] = choose(features[f], values[rows], nows[rows])
        kind[rows] = k
    present &= kind >= 0
    if not present.any():
        empty = pa.nulls(n, pa.string())
        return empty, empty
    idx = np.flatnonzero(present)
    vb = _dense(_dense(_bits(values[idx])) * (len(idx) + 1) + _dense(_bits(nows[idx])))
    width = max(len(k) for k in lists.values()) + 1
    pair = _dense((vb * len(features) + codes[idx]) * width + kind[idx])
    count = int(pair.max()) + 1
    rep_rows = np.empty(count, np.int64)
    rep_rows[pair] = idx  # any row of a pair will do: they all give the same words
    rep_code = codes[rep_rows]
    en, zh, order = [], [], []
    for f in np.unique(rep_code).tolist():  # one feature's sentences at a time, as Arrow (no Python strings)
        which = np.flatnonzero(rep_code == f)
        r = rep_rows[which]
        con.register(
            "churn_reason_reps",
            pa.table(
                {
                    "i": pa.array(np.arange(len(which))),
                    "s": pa.array(kind[r]),
                    "v": pa.array(values[r], mask=np.isnan(values[r])),
                    "b": pa.array(nows[r], mask=np.isnan(nows[r])),
                }
            ),
        )
        exprs = []
        for loc in LOCALES:
            arms = " ".join(f"WHEN {i} THEN {sentence_sql(features[f], k, loc)}" for i, k in enumerate(lists[f]))
            exprs.append(f"CAST(CASE s {arms} END AS VARCHAR)")
        try:
            got = con.execute(f"SELECT {exprs[0]}, {exprs[1]} FROM churn_reason_reps ORDER BY i").fetch_arrow_table()
        finally:
            con.unregister("churn_reason_reps")
        en.append(got.column(0).combine_chunks().cast(pa.string()))
        zh.append(got.column(1).combine_chunks().cast(pa.string()))
        order.append(which)
    where = np.empty(count, np.int64)
    where[np.concatenate(order)] = np.arange(count)  # a pair's place among the rendered rows
    at = np.zeros(n, np.int64)
    at[idx] = where[pair]
    take = pa.array(at, mask=~present)
    return pa.concat_arrays(en).take(take), pa.concat_arrays(zh).take(take)


def left_sql(date: str, reason: str, locale: str) -> str:
    """SQL of a leaver's reason sentence (the win-back list): the day left (``date``) and the churn reason's name
    in ``locale`` (:mod:`weixi.names`, kind ``churn_reason``) for the code ``reason``."""
    arms = " ".join(f"WHEN {lit(c)} THEN {lit(n)}" for c, n in names.names("churn_reason", locale).items())
    named = f"CASE {reason} {arms} ELSE {reason} END" if arms else reason
    known, unknown = (re.split(r"\{(\w+)\}", _word(f"churn_why.{k}", locale)) for k in ("left", "left_unknown"))

    def fill(parts: list[str]) -> str:
        params = {"date": f"CAST({date} AS VARCHAR)", "reason": named}
        return " || ".join(lit(p) if i % 2 == 0 else params[p] for i, p in enumerate(parts))

    return f"CASE WHEN {reason} IS NULL THEN {fill(unknown)} ELSE {fill(known)} END"
