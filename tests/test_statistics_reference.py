"""The fast statistics engine against the library's plain numpy reference
(splatlab.analysis.statistics_reference), on every kind of column."""

from __future__ import annotations

import numpy as np
import pytest

from splatlab import Splat, data, load, stats
from splatlab.analysis.statistics_reference import (
    disagreements,
    reference_row,
    reference_stats,
)

F32 = np.float32


def _specials(n: int = 5_000, seed: int = 0) -> Splat:
    """Columns of every kind a file may hold: ordinary, NaN and infinities mixed in,
    subnormals, float32 and float64 near their ends, one value, byte-swapped, integers."""
    rng = np.random.default_rng(seed)
    ordinary = rng.normal(0, 3, n).astype(F32)
    mixed = ordinary.copy()
    mixed[rng.choice(n, 300, replace=False)] = rng.choice([np.nan, np.inf, -np.inf], 300)
    return Splat.from_arrays({
        "ordinary": ordinary, "mixed": mixed,
        "subnormal32": rng.choice(np.array([1e-45, -1e-45, 1e-40, 0.0], F32), n),
        "max32": rng.choice(np.array([3.4028235e38, -3.4028235e38, 1.0], F32), n),
        "huge64": rng.choice([1.7e308, -1.6e308, 9e307], n),
        "tiny64": rng.choice([5e-324, -1e-310, 2e-320], n),
        "constant": np.full(n, -9.21, F32),
        "big_endian": ordinary.astype(">f4"),
        "integers": rng.integers(-5, 5, n).astype(np.int32),
        "opacity": mixed, "scale_0": rng.normal(-5, 1, n).astype(F32),
        "scale_1": rng.normal(-5, 1, n).astype(F32), "scale_2": rng.normal(-5, 1, n).astype(F32),
        "rot_0": ordinary, "rot_1": mixed, "rot_2": ordinary, "rot_3": ordinary,
    })


CASES = {
    "trellis": data.trellis_like,
    "corrupted": data.corrupted,
    "chained": data.chained,
    "inria SH 3": data.inria_sample,
    "special columns": _specials,
    "empty": lambda: Splat.from_arrays({"opacity": np.zeros(0, F32)}),
}


@pytest.mark.parametrize("name", CASES)
def test_stats_agrees_with_the_reference(name):
    splat = CASES[name]()
    assert disagreements(stats(splat), reference_stats(splat)) == []


def test_the_torch_engine_and_the_histogram_agree_with_the_reference():
    splat = _specials(3_000, seed=1)
    reference = reference_stats(splat)
    assert disagreements(stats(splat, device="cpu"), reference) == []
    assert disagreements(stats(splat, quantiles="histogram"), reference) == []


def test_other_declared_encodings_agree_with_the_reference(hamburger_path):
    splat = load(hamburger_path, opacity_encoding="probability", scale_encoding="linear")
    assert disagreements(stats(splat), reference_stats(splat)) == []


def test_the_comparison_catches_a_wrong_number():
    splat = data.trellis_like()
    table = stats(splat)
    table.loc["opacity", "nan"] += 1
    table.loc["x", "std"] *= 1 + 1e-9
    found = disagreements(table, reference_stats(splat))
    assert len(found) == 2 and found[0].startswith("x: std") and "opacity: nan" in found[1]


def test_a_reference_row_by_hand():
    row = reference_row(np.array([4.0, 1.0, 2.0, 2.0, np.nan, -np.inf], F32))
    assert (row["count"], row["finite"], row["nan"], row["neginf"]) == (6, 4, 1, 1)
    assert (row["mean"], row["min"], row["max"], row["p50"]) == (2.25, 1.0, 4.0, 2.0)
    assert row["std"] == pytest.approx(np.std([4.0, 1.0, 2.0, 2.0]))
    assert (row["mode"], row["mode_share"], row["distinct"]) == (2.0, 2 / 6, 3)
