"""``weixi generate``: orchestrate chunks, write the tables and the manifest."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from weixi.adapters.archive_schema import SCHEMA_VERSION, TABLES
from weixi.errors import Conflict, Invalid
from weixi.generator import activity, archive, churn, population
from weixi.generator.rng import Streams
from weixi.generator.window import Window
from weixi.generator.writer import ChunkSinks
from weixi.settings import DEFAULT_TIMEZONE

DEFAULT_END_MONTH = "2026-10"
DEFAULT_CHUNK_SIZE = 250_000
MAX_MEMBERS = 100_000_000


class GenerateError(Invalid, ValueError):
    """Bad arguments or an output directory that cannot be used."""


class OutputInUse(Conflict, GenerateError):
    """The output directory holds a previous run (or other files): refused unless told to overwrite."""


@dataclass(frozen=True)
class GenerateConfig:
    members: int
    months: int
    seed: int
    out: str
    end_month: str = DEFAULT_END_MONTH
    chunk_size: int = DEFAULT_CHUNK_SIZE
    workers: int = 1
    overwrite: bool = False

    def validate(self) -> Window:
        if not 1 <= self.members <= MAX_MEMBERS:
            raise GenerateError("generate_members_range", max=MAX_MEMBERS)
        if self.seed < 0 or self.seed >= 2**63:
            raise GenerateError("generate_bad_seed")
        if self.chunk_size < 1:
            raise GenerateError("generate_bad_chunk_size")
        if self.workers < 1:
            raise GenerateError("generate_bad_workers")
        try:
            return Window.ending(self.end_month, self.months)
        except Invalid as exc:
            raise GenerateError(exc.code, exc.where, **exc.params) from None


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise GenerateError("generate_out_not_dir", out=str(out))
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise OutputInUse("generate_out_not_empty", out=str(out))
        unknown = [p.name for p in out.iterdir() if p.name not in set(TABLES) | {"manifest.json"}]
        if unknown:
            raise OutputInUse("generate_out_foreign_files", out=str(out), files=sorted(unknown)[:5])
        for name in TABLES:
            shutil.rmtree(out / name, ignore_errors=True)
        (out / "manifest.json").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def run_chunk(config: GenerateConfig, chunk: int, lo: int, hi: int) -> dict[str, int]:
    """Generate members ``[lo, hi)`` and all their activity; returns rows written per table."""
    window = config.validate()
    streams = Streams(config.seed)
    n_total = config.members
    first = max(0, lo - population.FAMILY_WINDOW)
    base = population.base_population(streams, n_total, window, first, hi)
    base_churn = churn.simulate(streams, base, window)
    pop = population.attach_secondaries(streams, base, lo)
    truth = churn.follow_primaries(pop, churn.simulate(streams, pop, window), base.index, base_churn)
    sinks = ChunkSinks(Path(config.out), chunk)
    try:
        sinks.write(
            {
                "members": archive.members_table(streams, pop, first, hi, n_total),
                "churn_labels": archive.churn_table(pop, truth, window),
            }
        )
        act = activity.ChunkActivity(streams, pop, truth, window)
        for m in range(window.months):
            sinks.write(act.month(m))
    finally:
        counts = sinks.close()
    return counts


def _chunks(config: GenerateConfig) -> list[tuple[int, int, int]]:
    bounds = range(0, config.members, config.chunk_size)
    return [(i, lo, min(lo + config.chunk_size, config.members)) for i, lo in enumerate(bounds)]


def generate(config: GenerateConfig, on_chunk: Callable[[int], None] | None = None) -> dict:
    """Write the synthetic operator under ``config.out``; returns the manifest."""
    window = config.validate()
    out = Path(config.out)
    _prepare_out(out, config.overwrite)
    chunks = _chunks(config)
    totals = {name: 0 for name in TABLES}

    def add(counts: dict[str, int], members: int) -> None:
        for name, rows in counts.items():
            totals[name] += rows
        if on_chunk:
            on_chunk(members)

    if config.workers == 1 or len(chunks) == 1:
        for chunk, lo, hi in chunks:
            add(run_chunk(config, chunk, lo, hi), hi - lo)
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(config.workers, len(chunks)), mp_context=ctx) as pool:
            futures = {pool.submit(run_chunk, config, c, lo, hi): hi - lo for c, lo, hi in chunks}
            for fut in as_completed(futures):
                add(fut.result(), futures[fut])

    manifest = {
        "generator": "weixi generate",
        "schema_version": SCHEMA_VERSION,
        "seed": config.seed,
        "args": {k: v for k, v in asdict(config).items() if k != "overwrite"},
        "members": config.members,
        "months": window.labels,
        "first_month": window.labels[0],
        "end_month": window.labels[-1],
        "spring_festival": window.spring_festival_dates,
        "timezone": DEFAULT_TIMEZONE,
        "money_unit": "fen",
        "layout": "<table>/part-NNNNN.parquet (one file per table per chunk of members)",
        "chunks": len(chunks),
        "tables": {name: {"path": name, "rows": totals[name], "files": len(chunks)} for name in TABLES},
    }
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out / "manifest.json")
    return manifest
