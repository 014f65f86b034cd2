"""Where a Splat's values came from: the file, its format, and the bytes kept for a rewrite.

A :class:`Provenance` travels with a Splat through ``replace`` (same file, new values) and is
reset by ``take`` (new rows are no longer that file). ``io.save`` reads it to write an
unchanged file back byte for byte; ``info``, ``stats`` and diagnose's SL040 read its
:class:`SourceFormat` to say that values are quantised.

Example:
    >>> from pathlib import Path
    >>> Provenance(Path("a.spz"), SourceFormat("spz", "zstd", 2, 12, quantised=True)).label
    'a.spz'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class RawParts:
    """Bytes of a loaded file that the Splat keeps but does not decode."""

    pre: np.ndarray | bytes = b""      # elements stored before 'vertex'
    tail: np.ndarray | bytes = b""     # elements and bytes after 'vertex'
    ascii_rows: bytes | None = None    # exact vertex rows of an ASCII file
    encoded: np.ndarray | bytes | None = None  # the whole file, for formats decoded on
    #                                     load (SPZ, compressed PLY: memory-mapped)


@dataclass(frozen=True)
class SourceFormat:
    """What kind of file a Splat's values came from.

    ``name`` is ``"ply"``, ``"compressed-ply"`` (PlayCanvas), ``"sog"``, ``"spz"``,
    ``"splat"`` (antimatter15), ``"ksplat"`` (mkkellogg) or ``"arrays"`` (built in
    memory). For SPZ, ``container`` is ``"zstd"`` (404-Repo/spz, what subnet 17 sends),
    ``"gzip"`` (Niantic, versions 1-3) or ``"plain"`` (Niantic version 4: a plaintext
    header and zstd streams), with the payload's ``version`` and ``fractional_bits``; for
    SOG, ``container`` is ``"zip"`` (a ``.sog`` bundle) or ``"folder"``. ``quantised``
    says the values passed through a lossy encoding, so they sit on a grid.

    Example:
        >>> SourceFormat("spz", "zstd", 2, 12, quantised=True).label
        'SPZ v2 (zstd), quantised'
        >>> SourceFormat("compressed-ply", quantised=True).label
        'compressed PLY, quantised'
    """

    name: str = "ply"
    container: str | None = None
    version: int | None = None
    fractional_bits: int | None = None
    antialiased: bool = False
    quantised: bool = False

    @property
    def title(self) -> str:
        """The format's name as people write it (``"compressed PLY"``, ``".splat"``)."""
        return FORMAT_TITLES.get(self.name, self.name)

    @property
    def label(self) -> str:
        """One phrase for tables and reprs."""
        text = self.title
        if self.version is not None:
            text += f" v{self.version}"
        if self.container:
            text += f" ({self.container})"
        return text + (", quantised" if self.quantised else "")


FORMAT_TITLES = {"ply": "PLY", "spz": "SPZ", "compressed-ply": "compressed PLY", "sog": "SOG",
                 "splat": ".splat", "ksplat": ".ksplat", "arrays": "in-memory arrays"}
"""How each :attr:`SourceFormat.name` is written in messages."""


@dataclass(frozen=True)
class Provenance:
    """A Splat's origin: the file (``None`` when built in memory), its :class:`SourceFormat`,
    and the :class:`RawParts` of it that a byte-exact rewrite needs.

    Example:
        >>> Provenance().label, Provenance().format.name
        ('<splat>', 'ply')
    """

    source: Path | None = None
    format: SourceFormat = field(default_factory=SourceFormat)
    raw: RawParts = field(default_factory=RawParts)

    @property
    def label(self) -> str:
        """The file's path for messages, ``<splat>`` for one built in memory."""
        return str(self.source) if self.source else "<splat>"


__all__ = ["FORMAT_TITLES", "Provenance", "RawParts", "SourceFormat"]
