"""Parquet output: one dataset directory per table, one file per table per chunk.

Layout::

    DIR/manifest.json
    DIR/<table>/part-00000.parquet      # members 0 .. chunk_size-1
    DIR/<table>/part-00001.parquet      # next chunk ...

Monthly tables carry a ``month`` column and are written month by month, so each file is
sorted by month and row-group statistics let readers skip other months.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from weixi.adapters.archive_schema import TABLES

ROW_GROUP_ROWS = 512 * 1024
# The members archive is read one member at a time (member 360, member search): small row groups let a point
# lookup read only the group whose member_id statistics hold the id. Measured on a 250,000-member part: 4,096
# rows a group halve a lookup against 16,384 (p50 18 ms against 36, p95 28 against 56) for 8% more bytes.
LOOKUP_ROW_GROUP_ROWS = 4 * 1024
COMPRESSION = "zstd"


def part_path(out: Path, table: str, chunk: int) -> Path:
    return out / table / f"part-{chunk:05d}.parquet"


class TableSink:
    """Buffers one table's batches for one chunk and writes row groups of ~512k rows."""

    def __init__(self, out: Path, table: str, chunk: int) -> None:
        self.schema = TABLES[table]
        self.lookup = table == "members"
        self.path = part_path(out, table, chunk)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_suffix(".parquet.tmp")
        self.writer = pq.ParquetWriter(self.tmp, self.schema, compression=COMPRESSION)
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self.buffer.append(table)
        self.buffered += table.num_rows
        if self.buffered >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.buffer:
            merged = pa.concat_tables(self.buffer).combine_chunks()
            size = LOOKUP_ROW_GROUP_ROWS if self.lookup else max(ROW_GROUP_ROWS, merged.num_rows)
            self.writer.write_table(merged, row_group_size=size)
            self.rows += merged.num_rows
        self.buffer, self.buffered = [], 0

    def close(self) -> int:
        self._flush()
        self.writer.close()
        self.tmp.replace(self.path)
        return self.rows


class ChunkSinks:
    """The sinks of every table for one chunk."""

    def __init__(self, out: Path, chunk: int) -> None:
        self.sinks = {name: TableSink(out, name, chunk) for name in TABLES}

    def write(self, tables: dict[str, pa.Table]) -> None:
        for name, table in tables.items():
            self.sinks[name].write(table)

    def close(self) -> dict[str, int]:
        return {name: sink.close() for name, sink in self.sinks.items()}
