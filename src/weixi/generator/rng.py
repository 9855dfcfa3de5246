"""Keyed, position-addressed random numbers.

Every random number the generator uses is a pure function of
``(seed, table, field, month, member index, slot)``:

* a :class:`numpy.random.SeedSequence` built from ``seed`` and the spawn key
  ``(table, field, month)`` yields a Philox key (one independent stream per
  table, field and month);
* Philox is a counter-based generator, so the draws for members
  ``[start, start + n)`` are read by setting the counter to the position of
  member ``start``; each member owns a fixed number of slots.

Consequently the data do not depend on the chunk size, on the order in which
chunks are processed, or on how many worker processes run them.  Only draws
with a fixed consumption are used (``random()``: one 64-bit word per double);
normals, Poisson counts and categorical choices are derived from uniforms here.
"""

from __future__ import annotations

import zlib

import numpy as np

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _tag(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Uniform draws addressed by (table, field, month) and member index."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError("seed must be >= 0")
        self.seed = int(seed)

    def key(self, table: str, field: str, month: int = -1) -> np.ndarray:
        seq = np.random.SeedSequence(self.seed, spawn_key=(_tag(table), _tag(field), month + 1))
        return seq.generate_state(2, np.uint64)

    def uniform(self, table: str, field: str, start: int, n: int, k: int = 1, month: int = -1) -> np.ndarray:
        """Uniforms in [0, 1) of shape ``(n, k)`` for members ``start .. start+n-1``."""
        k4 = -(-k // 4) * 4  # Philox yields 4 words per counter step
        bitgen = np.random.Philox(key=self.key(table, field, month), counter=[start * k4 // 4, 0, 0, 0])
        out = np.random.Generator(bitgen).random(n * k4).reshape(n, k4)
        return out[:, :k] if k4 != k else out

    def u1(self, table: str, field: str, start: int, n: int, month: int = -1) -> np.ndarray:
        return self.uniform(table, field, start, n, 1, month)[:, 0]

    def hash_key(self, name: str) -> np.uint64:
        return np.uint64(self.key("hash", name)[0])

    def event(self, table: str, field: str, member: np.ndarray, month: int, slot: np.ndarray | int = 0) -> np.ndarray:
        """Uniforms for sparse events, keyed by (table, field, member, month, slot)."""
        return keyed_uniform(self.hash_key(table + "/" + field), member, month, slot)


# ----------------------------------------------------------------- transforms
def normal(u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    """Standard normals from two uniforms (Box-Muller)."""
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def poisson(u: np.ndarray, lam: np.ndarray, cap: int) -> np.ndarray:
    """Poisson counts by inverse CDF, truncated at ``cap``."""
    lam = np.asarray(lam, dtype=np.float64)
    p = np.exp(-lam)
    cdf = p.copy()
    count = np.zeros(np.broadcast(u, lam).shape, dtype=np.int8)
    for k in range(1, cap + 1):
        count += u >= cdf
        p = p * lam / k
        cdf = cdf + p
    return count


def choice(u: np.ndarray, weights) -> np.ndarray:
    """Index into ``weights`` (1-D, shared) chosen by uniforms ``u``."""
    w = np.asarray(weights, dtype=np.float64)
    cum = np.cumsum(w / w.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, u, side="right").astype(np.int32)


def choice_rows(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per-row categorical choice: ``weights`` has shape (n, k)."""
    cum = np.cumsum(weights, axis=1)
    cum /= cum[:, -1:]
    return (cum < u[:, None]).sum(axis=1).astype(np.int32).clip(0, weights.shape[1] - 1)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x.astype(np.uint64, copy=True)
    x += np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def permute_index(i: np.ndarray, n: int, key: np.uint64, rounds: int = 4) -> np.ndarray:
    """A keyed bijection of ``[0, n)`` (balanced Feistel network + cycle walking)."""
    half_bits = max(1, (int(n - 1).bit_length() + 1) // 2)
    mask = np.uint64((1 << half_bits) - 1)
    shift = np.uint64(half_bits)

    def feistel(x: np.ndarray) -> np.ndarray:
        left, right = x >> shift, x & mask
        for r in range(rounds):
            round_key = np.uint64((int(key) + r * 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF)
            f = splitmix64(right ^ round_key) & mask
            left, right = right, left ^ f
        return (left << shift) | right

    x = feistel(np.asarray(i, dtype=np.uint64))
    nn = np.uint64(n)
    out_of_range = x >= nn
    while out_of_range.any():
        x[out_of_range] = feistel(x[out_of_range])
        out_of_range = x >= nn
    return x.astype(np.int64)


def keyed_uniform(key: np.uint64, member: np.ndarray, month: int, slot: np.ndarray | int = 0) -> np.ndarray:
    """Uniforms in [0, 1) that are a pure function of (key, member index, month, slot).

    Used for the attributes of sparse events (a complaint, a recharge), whose number per
    member varies, so that they need no stream position at all.
    """
    x = splitmix64(np.asarray(member, dtype=np.uint64) ^ key)
    x = splitmix64(x ^ (np.asarray(slot, dtype=np.uint64) + np.uint64(month * 256)))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
