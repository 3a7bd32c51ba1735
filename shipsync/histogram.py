"""Quantiles of bucketed histograms, ``percentile_cont``-like: the ``n``
values counted in a bucket are taken to sit at the middles of ``n`` equal
slices of it, and the two closest ranks are interpolated. Used by the lane
transit statistics (``shipsync.eta``) and the dashboard's delay histograms
(``shipsync.monitor``), each with its own buckets."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


def quantile(buckets: Sequence[tuple[int, int]], q: float,
             bucket_range: Callable[[int], tuple[float, float]],
             largest: float | None = None) -> float | None:
    """The ``q`` quantile (0..1) of ``buckets`` (``(index, count)`` pairs in
    index order, counts > 0); ``bucket_range(index)`` is a bucket's
    ``(low, high)``; ``largest``, when known exactly, is the value of the last
    rank. None when nothing is counted."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be within [0, 1], got {q!r}")
    total = sum(n for _index, n in buckets)
    if not total:
        return None

    def value_at(rank: int) -> float:
        if largest is not None and rank == total - 1:
            return largest
        seen = 0
        for index, n in buckets:
            if rank < seen + n:
                low, high = bucket_range(index)
                return low + (high - low) * (rank - seen + 0.5) / n
            seen += n
        raise IndexError(rank)

    pos = (total - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    low = value_at(lo)
    if lo == hi:
        return low
    return low + (value_at(hi) - low) * (pos - lo)
