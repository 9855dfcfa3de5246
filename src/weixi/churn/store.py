"""The versioned model store: ``DATA/models/churn/vNNNN/`` with ``model.joblib`` and ``model.json``.

A version is written into ``vNNNN.tmp`` and renamed when complete, under an exclusive lock, so a version
directory is whole or absent and two trainings never take the same number. Nothing is overwritten: every
training adds a version; ``latest`` is the highest number (of a given source kind when asked).
``model.json`` holds what was trained on, the metrics, the candidates' scores and the report's data.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import joblib

from weixi.churn.errors import ModelNotTrained, NoModel

_VERSION = re.compile(r"^v(\d{4,})$")


def root(data_dir: Path, kind: str = "churn") -> Path:
    return Path(data_dir) / "models" / kind


def versions(data_dir: Path, kind: str = "churn") -> list[int]:
    base = root(data_dir, kind)
    if not base.is_dir():
        return []
    return sorted(
        int(m.group(1)) for p in base.iterdir() if (m := _VERSION.match(p.name)) and (p / "model.json").exists()
    )


@contextlib.contextmanager
def _locked(base: Path) -> Iterator[None]:
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def save(data_dir: Path, model: Any, meta: dict, kind: str = "churn") -> tuple[int, Path]:
    """Store a new version; returns (version, its directory)."""
    base = root(data_dir, kind)
    with _locked(base):
        version = (versions(data_dir, kind) or [0])[-1] + 1
        final = base / f"v{version:04d}"
        tmp = base / f"v{version:04d}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        joblib.dump(model, tmp / "model.joblib", compress=3)
        meta = {**meta, "version": version}
        (tmp / "model.json").write_text(
            json.dumps(meta, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8"
        )
        with open(tmp / "model.json", "rb") as fh:
            os.fsync(fh.fileno())
        os.rename(tmp, final)
    return version, final


def read_meta(data_dir: Path, version: int, kind: str = "churn") -> dict:
    return json.loads((root(data_dir, kind) / f"v{version:04d}" / "model.json").read_text(encoding="utf-8"))


def latest(data_dir: Path, source: str | None = None, kind: str = "churn") -> int | None:
    """The highest version, or the highest whose ``source.kind`` is ``source``."""
    for v in reversed(versions(data_dir, kind)):
        if source is None or read_meta(data_dir, v, kind).get("source", {}).get("kind") == source:
            return v
    return None


def load(
    data_dir: Path, version: int | None = None, source: str | None = None, kind: str = "churn"
) -> tuple[Any, dict]:
    v = version if version is not None else latest(data_dir, source, kind)
    if v is None or v not in versions(data_dir, kind):
        where = str(root(data_dir, kind))
        hint = "weixi churn train --month YYYY-MM" if kind == "churn" else "weixi targets evaluate --month YYYY-MM"
        if version is not None:
            raise NoModel("churn_model_version_missing", root=where, version=version, hint=hint)
        if source:
            raise ModelNotTrained("churn_no_model_of_source", root=where, source=source, hint=hint)
        raise ModelNotTrained("churn_no_model_stored", root=where, hint=hint)
    return joblib.load(root(data_dir, kind) / f"v{v:04d}" / "model.joblib"), read_meta(data_dir, v, kind)
