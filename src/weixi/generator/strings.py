"""Vectorised construction of string columns (no Python loop per row)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Part = tuple  # ("lit", str) | ("int", values, width) | ("bytes", uint8 array (n,) or (n, w))


def fixed_width(n: int, *parts: Part) -> pa.StringArray:
    """ASCII strings of one fixed width built from literal, zero-padded integer and raw-byte parts.

    ``fixed_width(n, ("lit", "M"), ("int", idx, 10))`` gives ``M0000000001``...
    The bytes are assembled in one ``(n, width)`` uint8 matrix and handed to Arrow
    without copying per row.
    """
    widths = []
    for p in parts:
        if p[0] == "lit":
            widths.append(len(p[1].encode("ascii")))
        elif p[0] == "int":
            widths.append(p[2])
        else:
            arr = np.asarray(p[1])
            widths.append(1 if arr.ndim == 1 else arr.shape[1])
    width = sum(widths)
    mat = np.empty((n, width), dtype=np.uint8)
    col = 0
    for p, w in zip(parts, widths):
        if p[0] == "lit":
            mat[:, col : col + w] = np.frombuffer(p[1].encode("ascii"), dtype=np.uint8)
        elif p[0] == "int":
            v = np.broadcast_to(np.asarray(p[1], dtype=np.int64), (n,)).copy()
            if n and (v.min() < 0 or v.max() >= 10**w):
                raise ValueError(f"value does not fit in {w} digits")
            for j in range(w - 1, -1, -1):
                mat[:, col + j] = (v % 10) + 48
                v //= 10
        else:
            arr = np.asarray(p[1], dtype=np.uint8)
            mat[:, col : col + w] = arr.reshape(n, w) if arr.ndim == 2 else arr[:, None]
        col += w
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)[: n + 1]
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat.tobytes()))


def take(values: list[str], idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``values[idx]`` as an Arrow string array; ``mask`` True means null."""
    out = pa.array(values, type=pa.string()).take(pa.array(np.asarray(idx, dtype=np.int32)))
    if mask is not None:
        out = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), out)
    return out


def concat(*arrays: pa.Array) -> pa.Array:
    """Element-wise concatenation of string arrays."""
    return pc.binary_join_element_wise(*arrays, "")


def with_nulls(arr: pa.Array, null_mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(null_mask), pa.scalar(None, arr.type), arr)
