"""An analyst's own table (CSV or Parquet) as a training set: column types inferred, problems named.

Each column is read as text and classified:

* **yes/no** — every value (blank = missing) is one of yes/no, y/n, true/false, 是/否 (any case): 1.0 / 0.0;
* **numeric** — every non-blank value parses as a number ("numbers stored as text with blanks", such as the
  Telco table's ``TotalCharges`` with a space for new customers): a float with blanks missing;
* **categorical** — anything else, with blanks missing. A categorical column whose values are nearly all
  different (an id) cannot generalise and is ignored, and reported.

Missing values stay missing: the models handle them (gradient boosting natively, the logistic baseline by
imputation with a missing-value indicator).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from weixi.churn.errors import ChurnInputError

YES = frozenset({"yes", "y", "true", "t", "是", "1"})
NO = frozenset({"no", "n", "false", "f", "否", "0"})
MIN_ROWS = 100
MIN_PER_CLASS = 10


@dataclass
class Table:
    """A training set: features (float columns and string categorical columns), the 0/1 label, ids."""

    X: pd.DataFrame
    y: np.ndarray
    numeric: list[str]
    categorical: list[str]
    ids: np.ndarray | None = None
    groups: np.ndarray | None = None
    ignored: dict[str, str] = field(default_factory=dict)  # column -> why it was not used
    dropped_rows: int = 0  # rows without a label
    positive: str = ""


def read_file(path: str | Path) -> pd.DataFrame:
    """Every column as text (CSV: UTF-8, a BOM is fine) or as stored (Parquet)."""
    path = Path(path)
    if not path.exists():
        raise ChurnInputError("churn_file_missing", path=str(path))
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt", ".tsv"):
            sep = "\t" if suffix == ".tsv" else ","
            return pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChurnInputError("churn_file_not_utf8", path=str(path), reason=exc.reason, byte=exc.start) from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ChurnInputError(
            "churn_file_unreadable", path=str(path), kind=suffix[1:].upper(), detail=str(exc).splitlines()[0]
        ) from None
    raise ChurnInputError("churn_file_type_unknown", path=str(path), suffix=suffix or "(none)")


def _text(col: pd.Series) -> pd.Series:
    """Values as stripped text (pandas string dtype) with blanks and missing as <NA>; vectorised."""
    s = col.astype("string").str.strip()
    return s.mask(s == "")


def classify(col: pd.Series) -> tuple[str, pd.Series]:
    """(kind, converted column): kind is 'empty', 'yesno', 'numeric' or 'categorical'."""
    if pd.api.types.is_bool_dtype(col):
        return "yesno", col.astype(float)
    if pd.api.types.is_numeric_dtype(col):
        values = col.astype(float)
        return ("empty" if values.notna().sum() == 0 else "numeric"), values
    text = _text(col)
    present = text.dropna()
    if present.empty:
        return "empty", pd.Series(np.nan, index=col.index)
    lower = present.str.lower()
    if lower.isin(YES | NO).all() and not pd.to_numeric(present, errors="coerce").notna().all():
        low = text.str.lower()
        return "yesno", pd.Series(
            np.where(low.isna(), np.nan, low.isin(YES).fillna(False).astype(float)), index=col.index
        )
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers[text.notna()].notna().all():
        return "numeric", numbers.astype(float)
    return "categorical", text


def from_frame(
    df: pd.DataFrame, label: str, id_col: str | None = None, positive: str | None = None, source: str = "the table"
) -> Table:
    """Check and convert an analyst's table; every problem is a coded :class:`ChurnInputError`."""
    columns = list(df.columns)
    for name, option in ((label, "--label"), (id_col, "--id")):
        if name is not None and name not in columns:
            raise ChurnInputError(
                "churn_no_column", source=source, column=name, option=option, columns=[str(c) for c in columns]
            )
    y, positive_value, keep = _label(df[label], label, positive, source)
    df = df[keep].reset_index(drop=True)
    dropped = int((~keep).sum())
    n = len(df)
    if n < MIN_ROWS:
        raise ChurnInputError("churn_too_few_rows", source=source, n=n, min=MIN_ROWS)
    counts = {0: int((y == 0).sum()), 1: int((y == 1).sum())}
    if min(counts.values()) < MIN_PER_CLASS:
        raise ChurnInputError(
            "churn_too_few_of_class",
            source=source,
            label=label,
            churned=counts[1],
            stayed=counts[0],
            min=MIN_PER_CLASS,
        )
    features = [c for c in columns if c not in (label, id_col)]
    if not features:
        if id_col:
            raise ChurnInputError("churn_no_feature_columns_but_id", source=source, label=label, id=id_col)
        raise ChurnInputError("churn_no_feature_columns", source=source, label=label)
    X, numeric, categorical, ignored, empty = {}, [], [], {}, []
    for c in features:
        kind, values = classify(df[c])
        if kind == "empty":
            empty.append(str(c))
        elif kind == "categorical":
            levels = values.nunique(dropna=True)
            if levels > 50 and levels > 0.5 * values.notna().sum():
                ignored[str(c)] = f"{levels} different values in {n} rows: an identifier, not a feature"
                continue
            X[str(c)] = values.astype(object).where(values.notna(), None)
            categorical.append(str(c))
        else:
            X[str(c)] = values.astype(float)
            numeric.append(str(c))
    if empty:
        raise ChurnInputError("churn_empty_columns", source=source, columns=[repr(c) for c in empty])
    if not X:
        raise ChurnInputError("churn_no_usable_feature", source=source, columns=list(ignored))
    ids = df[id_col].astype("string").fillna("").to_numpy(dtype=object) if id_col else None
    return Table(
        pd.DataFrame(X),
        y,
        numeric,
        categorical,
        ids=ids,
        ignored=ignored,
        dropped_rows=dropped,
        positive=positive_value,
    )


def _label(col: pd.Series, name: str, positive: str | None, source: str) -> tuple[np.ndarray, str, np.ndarray]:
    """(0/1 labels of the labelled rows, the positive value, mask of labelled rows)."""
    text = _text(col)
    keep = text.notna().to_numpy(dtype=bool)
    values = text[keep]
    if values.empty:
        raise ChurnInputError("churn_label_empty", source=source, label=name)
    distinct = sorted(str(v) for v in values.unique())
    if positive is not None:
        if positive not in distinct:
            raise ChurnInputError(
                "churn_positive_not_found", source=source, positive=positive, label=name, values=distinct[:10]
            )
        if len(distinct) < 2:
            raise ChurnInputError("churn_label_one_class", source=source, label=name, value=positive)
        return (values == positive).to_numpy(dtype=bool).astype(np.int8), positive, keep
    if len(distinct) < 2:
        raise ChurnInputError("churn_label_one_class", source=source, label=name, value=distinct[0])
    lower = {v.lower() for v in distinct}
    if len(distinct) == 2 and lower <= (YES | NO) and len(lower & YES) == 1:
        pos = next(v for v in distinct if v.lower() in YES)
        return (values == pos).to_numpy(dtype=bool).astype(np.int8), pos, keep
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all() and set(numbers.unique()) == {0.0, 1.0}:
        return (numbers == 1.0).to_numpy(dtype=bool).astype(np.int8), "1", keep
    raise ChurnInputError(
        "churn_label_ambiguous",
        source=source,
        label=name,
        values=[repr(v) for v in distinct[:10]],
        more=" …" if len(distinct) > 10 else "",
    )
