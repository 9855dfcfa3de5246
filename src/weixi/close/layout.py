"""Where the close's Delta tables live under the data folder: a module of its own, which imports nothing heavy, so
that :mod:`weixi.close.early` (run before the command's imports) finds a month's folders as :mod:`weixi.close.store`
does."""

from __future__ import annotations

from pathlib import Path

CLOSES = "closes"


def table_dir(data_dir: Path, dataset: str) -> Path:
    """The Delta table of ``dataset`` (one of :data:`weixi.close.store.DATASETS` or ``closes``)."""
    return Path(data_dir) / ("snapshots" if dataset == "snapshots" else f"close/{dataset}")


def partition(data_dir: Path, dataset: str, month: str) -> Path:
    """The month's folder inside the table (its files are those the table's current version lists)."""
    return table_dir(data_dir, dataset) / f"month={month}"


__all__ = ["CLOSES", "partition", "table_dir"]
