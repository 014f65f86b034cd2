"""Pair the rows of two splats of the same scene: by order, or by nearest position.

Formats that reorder their rows (compressed PLY and SOG store them in Morton order) leave
no row index to follow, so a comparison must find each gaussian again by where it is.
:func:`match_rows` does it once, for :func:`~splatlab.analysis.conversion.conversion_loss`
and :func:`~splatlab.diff` alike:

* ``"order"``: row i with row i (counts must agree);
* ``"position"``: each row of ``b`` with the nearest unclaimed row of ``a``, one to one, by
  a KD-tree (``scipy.spatial.cKDTree``: compiled, threaded queries; open3d's KDTreeFlann
  answers one point a Python call). Candidates tied in distance (within the quantisation
  step, or the 99th percentile of the nearest distances when no step is known: coincident
  rows, or rows closer together than the conversion's error) are told apart by their other
  fields, and such pairs are counted as ``coincident``; rows left without a partner (non-finite
  positions, a converter that dropped or added rows) are counted, never paired wrongly;
* ``"auto"``: order when the counts agree and most rows sit where their namesake does,
  else position when it pairs most rows unambiguously, else order (equal counts) or an
  error.

A pair is **unambiguous** when its distance is below half the gap from its ``a`` row to
that row's nearest other row of ``a``: then no other row can be nearer (triangle
inequality). With a known quantisation step, :attr:`RowMatch.within_step` counts pairs
whose every coordinate differs by at most half a step.

Example:
    >>> import numpy as np
    >>> from splatlab import Splat
    >>> xyz = {k: np.float32([0, 1, 2, 3]) for k in "xyz"}
    >>> a = Splat.from_arrays(xyz)
    >>> b = a.take([2, 0, 3, 1])
    >>> m = match_rows(a, b)
    >>> m.method, m.a_rows.tolist(), m.b_rows.tolist()
    ('position', [2, 0, 3, 1], [0, 1, 2, 3])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..core.fields import GROUPS
from ..core.floats import finite_summary, values_as_data
from ..core.ply import one_line
from ..core.splat import Splat

MatchMethod = Literal["auto", "order", "position"]
CANDIDATES = (2, 8, 32, 128)
"""Neighbours asked of the KD-tree for a row still unpaired, round after round."""
ORDER_SHARE = 0.5
"""``auto`` keeps the order when at least this share of rows is unambiguous by order."""
POSITION_SHARE = 0.9
"""``auto`` pairs by position only when at least this share of rows pairs unambiguously."""


class MatchError(ValueError):
    """Two splats whose rows cannot be paired (counts differ and positions do not pair them);
    the message names both, on one line."""


@dataclass(frozen=True, eq=False)
class RowMatch:
    """Which row of ``a`` goes with which row of ``b``, and how sure that is.

    ``a_rows[i]`` pairs with ``b_rows[i]``; ``distance`` is the Euclidean distance of their
    positions (NaN without positions). ``unambiguous`` counts pairs closer than half the
    gap to the ``a`` row's nearest neighbour; ``coincident`` pairs chosen among candidates
    at the same distance by their other fields; ``within_step`` pairs within half the
    ``step`` on every axis (None when no step is known).

    Example:
        >>> import numpy as np
        >>> m = RowMatch("order", np.arange(3), np.arange(3), np.zeros(3), 3, 3, 0, None, None, 3)
        >>> m.matched, m.unmatched_a, m.share_unambiguous
        (3, 0, 1.0)
    """

    method: str
    a_rows: np.ndarray
    b_rows: np.ndarray
    distance: np.ndarray
    a_count: int
    b_count: int
    coincident: int
    step: float | None
    within_step: int | None
    unambiguous: int = 0

    @property
    def matched(self) -> int:
        return len(self.a_rows)

    @property
    def unmatched_a(self) -> int:
        return self.a_count - self.matched

    @property
    def unmatched_b(self) -> int:
        return self.b_count - self.matched

    @property
    def share_unambiguous(self) -> float:
        """Unambiguous pairs over the rows of the larger side (1.0 for two empty splats)."""
        larger = max(self.a_count, self.b_count)
        return self.unambiguous / larger if larger else 1.0

    @property
    def is_identity(self) -> bool:
        """True when row i pairs with row i for every row of both."""
        return self.method == "order" and self.a_count == self.b_count == self.matched

    def to_dict(self) -> dict:
        """The counts and distances, without the row arrays (JSON-ready through json_safe)."""
        finite = self.distance[np.isfinite(self.distance)]
        n = max(self.a_count, self.b_count, 1)
        return {"method": self.method, "a_rows": self.a_count, "b_rows": self.b_count,
                "matched": self.matched, "matched_share": self.matched / n,
                "unambiguous": self.unambiguous, "unambiguous_share": self.unambiguous / n,
                "coincident": self.coincident, "unmatched_a": self.unmatched_a,
                "unmatched_b": self.unmatched_b, "step": self.step,
                "within_step": self.within_step,
                "within_step_share": None if self.within_step is None
                else self.within_step / n,
                "max_distance": float(finite.max()) if len(finite) else None,
                "p99_distance": float(np.quantile(finite, 0.99)) if len(finite) else None}


def _positions(splat: Splat) -> np.ndarray | None:
    names = GROUPS["positions"]
    if not all(n in splat.properties for n in names):
        return None
    return splat.columns(names).astype(np.float64)


def position_step(splat: Splat) -> float | None:
    """The position quantisation step of a decoded file, when its format says it (SPZ:
    2^-fractional_bits), else None.

    Example:
        >>> from splatlab import data
        >>> position_step(data.trellis_like(count=64)) is None
        True
    """
    fmt = splat.provenance.format
    if fmt.quantised and fmt.name == "spz" and fmt.fractional_bits:
        return 2.0 ** -fmt.fractional_bits
    return None


@values_as_data
def match_rows(a: Splat, b: Splat, *, method: MatchMethod = "auto",
               step: float | None = None) -> RowMatch:
    """Pair the rows of ``a`` and ``b`` (see the module's description of the methods).

    ``step`` is ``b``'s position quantisation step per axis (default: what ``b``'s source
    format says, see :func:`position_step`). Raises :class:`MatchError` when the counts
    differ and the positions do not pair most rows (or are absent), or when ``"order"`` is
    asked of different counts.

    Example:
        >>> import numpy as np
        >>> from splatlab import Splat
        >>> a = Splat.from_arrays({k: np.float32([0, 1, 2]) for k in "xyz"})
        >>> match_rows(a, a).to_dict()["method"]
        'order'
    """
    if method not in ("auto", "order", "position"):
        raise ValueError(f"match must be 'auto', 'order' or 'position', not {method!r}")
    step = position_step(b) if step is None else step
    pa, pb = _positions(a), _positions(b)
    if method == "order" or (pa is None or pb is None):
        if a.count != b.count:
            reason = ("rows must match in count to pair by order" if method == "order"
                      else "without x, y, z rows can only pair by order, which needs equal"
                      " counts")
            raise MatchError(_names(a, b, reason))
        return _by_order(pa, pb, a.count, step)
    if a.count == b.count and np.array_equal(pa, pb, equal_nan=True):
        return _by_order(pa, pb, a.count, step, gaps=None)  # the same positions: no search
    near = _Neighbours(pa)
    order = None
    if a.count == b.count:
        order = _by_order(pa, pb, a.count, step, near.gaps)
        if method == "auto" and order.share_unambiguous >= ORDER_SHARE:
            return order
    fb = np.flatnonzero(np.isfinite(pb).all(axis=1))
    first = near.query(pb[fb], CANDIDATES[0])
    if method == "auto" and near.at_most_unambiguous(first, len(pb)) < POSITION_SHARE:
        if order is not None:  # position cannot do better than the threshold: keep order
            return order
        raise MatchError(_names(a, b, "counts differ and the positions cannot pair most"
                                " rows unambiguously"))
    position = _by_position(a, b, pa, pb, near, fb, first, step)
    if method == "position" or position.share_unambiguous >= POSITION_SHARE or order is None:
        if order is None and position.share_unambiguous < POSITION_SHARE:
            raise MatchError(_names(a, b, f"counts differ and only"
                                    f" {position.share_unambiguous:.1%} of rows pair"
                                    " unambiguously by position"))
        return position
    return order if order.share_unambiguous >= position.share_unambiguous else position


def _names(a: Splat, b: Splat, reason: str) -> str:
    la, lb = (str(s.source) if s.source is not None else "<splat>" for s in (a, b))
    return one_line(f"{la} ({a.count:,} rows) and {lb} ({b.count:,} rows): {reason}")


class _Neighbours:
    """A KD-tree of ``a``'s finite positions (scipy's cKDTree, sliding-midpoint splits: a
    third faster to build and query than balanced ones here), with ``gaps``: each row's
    distance to its nearest other row (inf when alone, NaN without a finite position)."""

    def __init__(self, pa: np.ndarray):
        from scipy.spatial import cKDTree

        self.rows = np.flatnonzero(np.isfinite(pa).all(axis=1))
        self.tree = cKDTree(pa[self.rows], balanced_tree=False) if len(self.rows) else None
        self.gaps = np.full(len(pa), np.nan)
        if len(self.rows) >= 2:
            self.gaps[self.rows] = self.query(pa[self.rows], 2)[0][:, 1]
        elif len(self.rows):
            self.gaps[self.rows] = np.inf

    def query(self, points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(distance, row of a) of the ``k`` nearest, (len(points), k) each; a neighbour
        not found (fewer rows, or distances beyond float64) has distance inf."""
        k = min(k, len(self.rows))
        if not k or not len(points):
            return np.full((len(points), 0), np.inf), np.zeros((len(points), 0), int)
        distance, index = self.tree.query(points, k=k, workers=-1)
        distance, index = distance.reshape(len(points), k), index.reshape(len(points), k)
        missing = index >= len(self.rows)
        return (np.where(missing, np.inf, distance),
                self.rows[np.where(missing, 0, index)])

    def at_most_unambiguous(self, first: tuple[np.ndarray, np.ndarray], b_count: int
                            ) -> float:
        """The most rows pairing by position could make unambiguous: the share of ``b``
        rows whose nearest ``a`` row lies within half that row's gap."""
        distance, index = first
        if not distance.shape[1]:
            return 0.0
        d, rows = distance[:, 0], index[:, 0]
        with np.errstate(invalid="ignore"):
            near = np.isfinite(d) & ((d == 0) | (d < self.gaps[rows] / 2))
        return float(near.sum()) / max(len(self.gaps), b_count)


def _count_within(pa: np.ndarray | None, pb: np.ndarray | None, step: float | None
                  ) -> int | None:
    if step is None or pa is None or pb is None:
        return None
    with np.errstate(invalid="ignore"):
        return int((np.abs(pa - pb) <= step / 2 * (1 + 1e-6)).all(axis=1).sum())


def _by_order(pa: np.ndarray | None, pb: np.ndarray | None, n: int, step: float | None,
              gaps: np.ndarray | None = None) -> RowMatch:
    rows = np.arange(n)
    if pa is None or pb is None:
        return RowMatch("order", rows, rows, np.full(n, np.nan), n, n, 0, step, None, n)
    distance = np.linalg.norm(pa - pb, axis=1)
    if gaps is None:  # identical positions
        unambiguous = n
    else:
        with np.errstate(invalid="ignore"):
            unambiguous = int(((distance == 0) | (distance < gaps / 2)).sum())
    return RowMatch("order", rows, rows, distance, n, n, 0, step,
                    _count_within(pa, pb, step), unambiguous)


def _by_position(a: Splat, b: Splat, pa: np.ndarray, pb: np.ndarray, near: _Neighbours,
                 fb: np.ndarray, first: tuple[np.ndarray, np.ndarray], step: float | None
                 ) -> RowMatch:
    fa = near.rows
    owner = np.full(len(pa), -1)       # the b row each a row went to
    partner = np.full(len(pb), -1)     # the a row each b row went to
    coincident = np.zeros(len(pb), bool)
    if len(fa) and len(fb):
        scale = float(np.abs(pa[fa]).max()) or 1.0
        tie = max(step or 0.0, 8 * float(np.finfo(np.float32).eps) * scale)
        cost = _cost(a, b)
        pending = fb
        finite = np.isfinite(first[0][:, 0])
        if finite.any():  # candidates nearer than the typical error tie
            tie = max(tie, float(np.quantile(first[0][finite, 0], 0.99)))
        for k in CANDIDATES:
            if not len(pending):
                break
            distance, index = first if k == CANDIDATES[0] else near.query(pb[pending], k)
            pending = _claim(pending, distance, index, owner, partner, coincident, tie, cost)
            if k >= len(fa):
                break
    b_rows = np.flatnonzero(partner >= 0)
    a_rows = partner[b_rows]
    distance = np.linalg.norm(pa[a_rows] - pb[b_rows], axis=1)
    with np.errstate(invalid="ignore"):
        unambiguous = int((((distance == 0) | (distance < near.gaps[a_rows] / 2))
                           & ~coincident[b_rows]).sum())
    within = _count_within(pa[a_rows], pb[b_rows], step)
    return RowMatch("position", a_rows, b_rows, distance, a.count, b.count,
                    int(coincident.sum()), step, within, unambiguous)


def _claim(pending: np.ndarray, distance: np.ndarray, index: np.ndarray, owner: np.ndarray,
           partner: np.ndarray, coincident: np.ndarray, tie: float, cost) -> np.ndarray:
    """One round: each pending b row claims its best free candidate; of several claims on
    one a row the nearest wins (a tie: the one whose other fields agree best). Returns the
    b rows still pending."""
    while len(pending):
        free = (owner[index] < 0) & np.isfinite(distance)
        usable = free.any(axis=1)
        done_here = pending[~usable]  # every candidate taken: ask for more next round
        pending, distance, index, free = (pending[usable], distance[usable], index[usable],
                                          free[usable])
        if not len(pending):
            return done_here
        d = np.where(free, distance, np.inf)
        first = np.argmin(d, axis=1)
        best = d[np.arange(len(d)), first]
        tied = (d <= best[:, None] + tie).sum(axis=1) > 1
        choice = index[np.arange(len(d)), first]
        if tied.any():  # several free candidates at one distance: the other fields decide
            rows = np.flatnonzero(tied)
            extra = np.where(d[rows] <= best[rows, None] + tie,
                             cost(index[rows], pending[rows]), np.inf)
            choice[rows] = index[rows, np.argmin(extra, axis=1)]
            best[rows] = distance[rows, np.argmin(extra, axis=1)]
            coincident[pending[rows]] = True
        order = np.lexsort((best, choice))
        winners = order[np.r_[True, choice[order][1:] != choice[order][:-1]]]
        owner[choice[winners]] = pending[winners]
        partner[pending[winners]] = choice[winners]
        lost = np.ones(len(pending), bool)
        lost[winners] = False
        pending, distance, index = pending[lost], distance[lost], index[lost]
        if not len(pending):
            return done_here
    return np.concatenate([done_here, pending]) if len(pending) else done_here


def _cost(a: Splat, b: Splat):
    """How much two rows differ in their other common float fields: the sum of absolute
    differences, each over the field's spread in ``a`` (rotations and positions left out:
    q and -q are one rotation, and the positions already tied)."""
    skip = {*GROUPS["positions"], *GROUPS["quats"]}
    in_b = set(b.properties)
    names = [n for n in a.properties if n in in_b and n not in skip
             and a.column(n).dtype.kind == "f" and b.column(n).dtype.kind == "f"]
    spreads: dict[str, float] = {}

    def spread(name: str) -> float:
        if name not in spreads:  # measured on first use: most pairings never tie
            std = finite_summary(a.column(name))["std"]  # NaN with no finite value
            spreads[name] = std if std > 0 else 1.0
        return spreads[name]

    def cost(a_index: np.ndarray, b_index: np.ndarray) -> np.ndarray:
        total = np.zeros(a_index.shape)
        for name in names:
            va = a.column(name)[a_index].astype(np.float64)
            vb = b.column(name)[b_index].astype(np.float64)[:, None]
            with np.errstate(invalid="ignore"):
                delta = np.where((va == vb) | (np.isnan(va) & np.isnan(vb)), 0.0,
                                 np.abs(va - vb) / spread(name))
            total += np.nan_to_num(delta, nan=1e6, posinf=1e6)
        return total

    return cost


__all__ = ["MatchError", "RowMatch", "match_rows", "position_step"]
