"""Read SOG (PlayCanvas's "spatially ordered gaussians"): lossless WebP images and a meta.json.

A SOG is a ``.sog`` zip bundle, or a folder holding ``meta.json`` beside its images (give
the folder or the meta.json). Version 2, as splat-transform 3.10.2 writes it:

* ``means_l``/``means_u``: low and high bytes of 16-bit positions, lerped between
  ``means.mins`` and ``means.maxs`` of ``sign(x) * log(|x| + 1)``, then inverted;
* ``quats``: smallest-three rotations, three bytes (``b / 255 * 2 - 1``, over sqrt 2) and
  the alpha byte 252 + the index of the largest component (other tags: identity);
* ``scales``: three bytes a gaussian indexing a 256-entry codebook of log scales;
* ``sh0``: three codebook bytes of f_dc and an alpha byte: opacity = logit(a / 255),
  clamped to [1e-6, 1 - 1e-6] (so bytes 0 and 255 give -13.8155 and +13.8155, never inf);
* ``shN_centroids``/``shN_labels`` (optional): a 16-bit palette label a gaussian, the
  palette a 64-wide image of codebook bytes, ``bands`` SH bands.

Pixel i of an image is gaussian i (row-major); rows are stored in splat-transform's order
(Morton), and are read in that order. Decoding does splat-transform's arithmetic (float64
from the JSON's numbers, one rounding to float32), so positions and opacities agree with
its decodes to float32 rounding of ``exp``/``log``, codebook fields exactly.

Why our own decoder: gsply 0.4.6 reads SOG only through ``imagecodecs``, a heavy binary
package; Pillow (already a dependency of the figures) decodes lossless WebP exactly (the
fixture tests check every decoded field against splat-transform's decodes). A declared
count is checked against the images' sizes before any array is allocated.

Example:
    >>> from splatlab import data
    >>> table, meta = read(data.path("sample.sog"))
    >>> len(table), meta["version"]
    (2048, 2)
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .compiled import numba_available
from .compressed_ply import decoded_properties, empty_table
from .floats import values_as_data
from .ply import SplatFormatError

META = "meta.json"
VERSION = 2
SH_COEFFICIENTS = (0, 3, 8, 15)
"""Coefficients a colour channel for 0-3 bands."""
MAX_COUNT = 100_000_000
"""More gaussians than any SOG holds: a meta.json declaring more is refused."""
_MAX_META_BYTES = 64 << 20


def is_meta(meta: object) -> bool:
    """True when a parsed JSON looks like a SOG meta.json (``means`` and ``quats`` keys).

    Example:
        >>> is_meta({"means": {}, "quats": {}}), is_meta({"lodLevels": 3})
        (True, False)
    """
    return isinstance(meta, dict) and "means" in meta and "quats" in meta


class _Source:
    """The files of a SOG: members of a zip bundle, or files beside a meta.json."""

    def __init__(self, path: Path):
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        if path.is_dir():
            self.folder = path
        elif zipfile.is_zipfile(path):
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError, ValueError) as e:
                raise SplatFormatError(path, f"corrupt SOG zip ({e})") from None
            self.folder = None
        else:
            self.folder = path.parent

    def read(self, name: str, limit: int) -> bytes:
        if "/" in name or "\\" in name or name in ("", ".", ".."):
            raise SplatFormatError(self.path, f"SOG names a file outside itself: {name!r}")
        try:
            if self._zip is not None:
                info = self._zip.getinfo(name)
                if info.file_size > limit:
                    raise SplatFormatError(self.path, f"SOG member {name} declares"
                                           f" {info.file_size:,} bytes, more than expected")
                return self._zip.read(info)
            target = self.folder / name
            if target.stat().st_size > limit:
                raise SplatFormatError(self.path, f"SOG file {name} is larger than expected")
            return target.read_bytes()
        except KeyError:
            raise SplatFormatError(self.path, f"SOG bundle has no {name}") from None
        except FileNotFoundError:
            raise SplatFormatError(self.path, f"SOG file {name} is missing beside meta.json"
                                   ) from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise SplatFormatError(self.path, f"cannot read SOG member {name} ({e})") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def read(path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """The decoded float32 table (stored order) and the meta.json of a SOG.

    ``path`` is a ``.sog`` zip, a folder holding ``meta.json``, or that ``meta.json``.
    Raises :class:`SplatFormatError` with one line for anything unreadable.
    """
    path = Path(path)
    source = _Source(path)
    try:
        meta_name = path.name if source.folder is not None and not path.is_dir() else META
        meta = _parse_meta(source.read(meta_name, _MAX_META_BYTES), path)
        return _decode(source, meta), meta
    finally:
        source.close()


def _parse_meta(raw: bytes, path: Path) -> dict:
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise SplatFormatError(path, f"SOG meta.json is not JSON ({e})") from None
    if not is_meta(meta):
        raise SplatFormatError(path, "SOG meta.json lacks 'means' and 'quats'")
    version = meta.get("version")
    if version != VERSION:
        raise SplatFormatError(path, f"SOG version {version} is not supported (reads version 2,"
                               " as splat-transform 3.10 writes)")
    count = meta.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= MAX_COUNT:
        raise SplatFormatError(path, f"SOG meta.json declares count {count!r}; expected 1 to"
                               f" {MAX_COUNT:,}")
    try:
        for key, size in (("mins", 3), ("maxs", 3)):
            values = np.asarray(meta["means"][key], np.float64)
            if values.shape != (size,):
                raise ValueError(f"means.{key} must hold 3 numbers")
        for key in ("scales", "sh0"):
            if np.asarray(meta[key]["codebook"], np.float32).shape != (256,):
                raise ValueError(f"{key}.codebook must hold 256 numbers")
        files = [meta["means"]["files"][0], meta["means"]["files"][1], meta["quats"]["files"][0],
                 meta["scales"]["files"][0], meta["sh0"]["files"][0]]
        if "shN" in meta:
            sh = meta["shN"]
            if sh["bands"] not in (1, 2, 3) or isinstance(sh["bands"], bool):
                raise ValueError(f"shN.bands {sh['bands']!r} is not 1, 2 or 3")
            if np.asarray(sh["codebook"], np.float32).shape != (256,):
                raise ValueError("shN.codebook must hold 256 numbers")
            if not isinstance(sh["count"], int) or not 0 < sh["count"] <= 65536:
                raise ValueError(f"shN.count {sh['count']!r} is not 1 to 65536")
            files += [sh["files"][0], sh["files"][1]]
        if not all(isinstance(f, str) for f in files):
            raise ValueError("file names must be strings")
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise SplatFormatError(path, f"malformed SOG meta.json ({e})") from None
    return meta


def _image(source: _Source, name: str, min_pixels: int) -> np.ndarray:
    """The (pixels, 4) RGBA bytes of a lossless WebP, refused before decoding when its size
    cannot hold ``min_pixels`` or is far larger than needed."""
    from PIL import Image

    raw = source.read(name, 64 * min_pixels + (1 << 20))
    try:
        with Image.open(io.BytesIO(raw)) as image:
            width, height = image.size
            if not min_pixels <= width * height <= 4 * min_pixels + (1 << 16):
                raise SplatFormatError(source.path, f"SOG image {name} is {width} x {height};"
                                       f" {min_pixels:,} pixels expected")
            rgba = np.asarray(image.convert("RGBA"))
    except SplatFormatError:
        raise
    except Exception as e:  # Pillow raises many kinds for a corrupt image  # noqa: BLE001
        raise SplatFormatError(source.path, f"SOG image {name} cannot be decoded"
                               f" ({type(e).__name__}: {e})") from None
    return rgba.reshape(-1, 4)


def _decode(source: _Source, meta: dict) -> np.ndarray:
    return decode(read_pixels(source, meta), meta)


def read_pixels(source: _Source, meta: dict) -> dict[str, np.ndarray]:
    """The (pixels, 4) RGBA bytes of every image of a SOG, by role: ``low``, ``high``,
    ``quats``, ``scales``, ``sh0`` and, with SH, ``labels`` and ``centroids``. Each image's
    size is checked against the count before it is decoded."""
    count = meta["count"]
    files = {"low": meta["means"]["files"][0], "high": meta["means"]["files"][1],
             "quats": meta["quats"]["files"][0], "scales": meta["scales"]["files"][0],
             "sh0": meta["sh0"]["files"][0]}
    pixels = {role: _image(source, name, count) for role, name in files.items()}
    sh = meta.get("shN")
    if sh:
        coefficients = SH_COEFFICIENTS[sh["bands"]]
        width = 64 * coefficients
        pixels["centroids"] = _image(source, sh["files"][0], width * -(-sh["count"] // 64))
        if len(pixels["centroids"]) % width:
            raise SplatFormatError(source.path, f"SOG shN centroids are not {width} pixels"
                                   " wide")
        pixels["labels"] = _image(source, sh["files"][1], count)
    return pixels


def _position_tables(meta: dict) -> np.ndarray:
    """(3, 65536) float64: the position of every 16-bit value an axis."""
    mins = np.asarray(meta["means"]["mins"], np.float64)[:, None]
    spans = np.asarray(meta["means"]["maxs"], np.float64)[:, None] - mins
    spans = np.where(spans == 0, 1.0, spans)
    v = mins + spans * (np.arange(65536, dtype=np.float64) / 65535)[None, :]
    return np.sign(v) * (np.exp(np.abs(v)) - 1)


def _alpha_table() -> np.ndarray:
    alpha = np.clip(np.arange(256) / 255, 1e-6, 1 - 1e-6)
    return np.log(alpha / (1 - alpha)).astype(np.float32)


def decode(pixels: dict[str, np.ndarray], meta: dict) -> np.ndarray:
    """The float32 table of a SOG's pixels (:func:`read_pixels`): the compiled loop of
    :mod:`splatlab.core.format_kernels`, bits equal to :func:`decode_reference` (which runs
    instead where numba is not installed)."""
    if not numba_available():
        return decode_reference(pixels, meta)
    from . import format_kernels

    count = meta["count"]
    sh = meta.get("shN")
    coefficients = SH_COEFFICIENTS[sh["bands"]] if sh else 0
    empty = np.zeros((0, 4), np.uint8)
    out = np.empty((count, 14 + 3 * coefficients), np.float32)
    format_kernels.decode_sog(
        pixels["low"], pixels["high"], _position_tables(meta), pixels["quats"],
        pixels["scales"], np.asarray(meta["scales"]["codebook"], np.float32), pixels["sh0"],
        np.asarray(meta["sh0"]["codebook"], np.float32), _alpha_table(),
        pixels.get("labels", empty), pixels.get("centroids", empty),
        np.asarray(sh["codebook"] if sh else np.zeros(256), np.float32), coefficients,
        sh["count"] if sh else 0, out)
    names = decoded_properties(3 * coefficients)
    return out.view(np.dtype([(name, "<f4") for name in names])).reshape(count)


@values_as_data
def decode_reference(pixels: dict[str, np.ndarray], meta: dict) -> np.ndarray:
    """:func:`decode` in numpy, one array operation a step: the definition."""
    count = meta["count"]
    sh = meta.get("shN")
    coefficients = SH_COEFFICIENTS[sh["bands"]] if sh else 0
    out = empty_table(count, 3 * coefficients)
    low = pixels["low"][:count, :3].astype(np.uint32)
    high = pixels["high"][:count, :3].astype(np.uint32)
    q = (low | (high << 8)).astype(np.float64) / 65535
    mins = np.asarray(meta["means"]["mins"], np.float64)
    spans = np.asarray(meta["means"]["maxs"], np.float64) - mins
    spans = np.where(spans == 0, 1.0, spans)
    v = mins + spans * q
    positions = np.sign(v) * (np.exp(np.abs(v)) - 1)
    for axis, name in enumerate("xyz"):
        out[name] = positions[:, axis]
    _decode_quats(pixels["quats"][:count], out)
    codebook = np.asarray(meta["scales"]["codebook"], np.float32)
    for axis in range(3):
        out[f"scale_{axis}"] = codebook[pixels["scales"][:count, axis]]
    codebook = np.asarray(meta["sh0"]["codebook"], np.float32)
    colours = pixels["sh0"][:count]
    for axis in range(3):
        out[f"f_dc_{axis}"] = codebook[colours[:, axis]]
    alpha = np.clip(colours[:, 3] / 255, 1e-6, 1 - 1e-6)
    out["opacity"] = np.log(alpha / (1 - alpha))
    if coefficients:
        _decode_sh(pixels, sh, coefficients, count, out)
    return out


def _decode_quats(pixels: np.ndarray, out: np.ndarray) -> None:
    tag = pixels[:, 3].astype(np.int64)
    valid = (tag >= 252) & (tag <= 255)
    largest = np.where(valid, tag - 252, 0)
    abc = (pixels[:, :3] / 255 * 2 - 1) / np.sqrt(2)
    slots = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[largest]
    rot = np.zeros((len(pixels), 4))
    rows = np.arange(len(pixels))
    rot[rows[:, None], slots] = abc
    total = (abc[:, 0] * abc[:, 0] + abc[:, 1] * abc[:, 1]) + abc[:, 2] * abc[:, 2]
    rot[rows, largest] = np.sqrt(np.maximum(0, 1 - total))
    rot[~valid] = (1, 0, 0, 0)
    for i in range(4):
        out[f"rot_{i}"] = rot[:, i]


def _decode_sh(pixels: dict[str, np.ndarray], sh: dict, coefficients: int, count: int,
               out: np.ndarray) -> None:
    palette, centroids = sh["count"], pixels["centroids"]
    width = 64 * coefficients
    labels = pixels["labels"][:count].astype(np.int64)
    label = labels[:, 0] | (labels[:, 1] << 8)
    codebook = np.asarray(sh["codebook"], np.float32)
    known = label < palette            # the reference leaves other rows at 0
    pixel_rows = label // 64 * width + (label % 64) * coefficients
    for j in range(coefficients):
        pixel = np.where(known, pixel_rows + j, 0)
        values = codebook[centroids[np.minimum(pixel, len(centroids) - 1), :3]]
        values[~known | (pixel >= len(centroids))] = 0
        for channel in range(3):
            out[f"f_rest_{j + coefficients * channel}"] = values[:, channel]


def _codebook(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 256-entry codebook (quantiles of the finite values) and each value's nearest entry."""
    finite = values[np.isfinite(values)]
    book = (np.quantile(finite, np.linspace(0, 1, 256)) if finite.size else np.zeros(256))
    book = book.astype(np.float32)
    at = np.clip(np.searchsorted(book, np.nan_to_num(values)), 1, 255)
    nearer_low = np.abs(np.nan_to_num(values) - book[at - 1]) <= np.abs(
        np.nan_to_num(values) - book[at])
    return book, np.where(nearer_low, at - 1, at).astype(np.uint8)


def _webp(pixels: np.ndarray, width: int) -> bytes:
    """Lossless WebP of (n, 4) RGBA bytes laid out ``width`` pixels a row (zero padded)."""
    from PIL import Image

    height = -(-len(pixels) // width)
    padded = np.zeros((height * width, 4), np.uint8)
    padded[:len(pixels)] = pixels
    buffer = io.BytesIO()
    Image.fromarray(padded.reshape(height, width, 4), "RGBA").save(
        buffer, "WEBP", lossless=True, exact=True)
    return buffer.getvalue()


@values_as_data
def encode(columns: dict[str, np.ndarray]) -> dict[str, bytes]:
    """The files of a version-2 SOG (name -> bytes) of named float columns, rows in the
    given order: a small encoder for samples and tests (codebooks are quantiles, every
    distinct SH row its own palette entry, at most 65,536), not splat-transform's
    k-means; the layout is the one its reader reads.

    Example:
        >>> cols = {n: np.zeros(4, np.float32) for n in ("x", "y", "z", "scale_0", "scale_1",
        ...         "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "opacity", "f_dc_0",
        ...         "f_dc_1", "f_dc_2")}
        >>> sorted(encode(cols))[:2]
        ['means_l.webp', 'means_u.webp']
    """
    n = len(np.asarray(columns["x"]))
    width = max(4, -(-int(np.ceil(np.sqrt(n))) // 4) * 4)
    opaque = np.full((n, 1), 255, np.uint8)
    files: dict[str, bytes] = {}
    p = np.stack([np.asarray(columns[a], np.float64) for a in "xyz"], axis=1)
    v = np.nan_to_num(np.sign(p) * np.log(np.abs(p) + 1), posinf=0, neginf=0)
    mins, maxs = v.min(axis=0), v.max(axis=0)
    q = np.round((v - mins) / np.where(maxs > mins, maxs - mins, 1) * 65535).astype(np.uint32)
    files["means_l.webp"] = _webp(np.hstack([(q & 255).astype(np.uint8), opaque]), width)
    files["means_u.webp"] = _webp(np.hstack([(q >> 8).astype(np.uint8), opaque]), width)
    quats = np.nan_to_num(np.stack([np.asarray(columns[f"rot_{i}"], np.float64)
                                    for i in range(4)], axis=1))
    quats /= np.maximum(np.linalg.norm(quats, axis=1, keepdims=True), 1e-30)
    largest = np.argmax(np.abs(quats), axis=1)
    rows = np.arange(n)
    quats = np.where((quats[rows, largest] < 0)[:, None], -quats, quats)
    slots = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[largest]
    small = np.round((quats[rows[:, None], slots] * np.sqrt(2) + 1) / 2 * 255)
    files["quats.webp"] = _webp(np.hstack([np.clip(small, 0, 255).astype(np.uint8),
                                           (252 + largest)[:, None].astype(np.uint8)]), width)
    scales = np.stack([np.asarray(columns[f"scale_{i}"], np.float64) for i in range(3)], axis=1)
    scale_book, scale_bytes = _codebook(scales.ravel())
    files["scales.webp"] = _webp(np.hstack([scale_bytes.reshape(n, 3), opaque]), width)
    dc = np.stack([np.asarray(columns[f"f_dc_{i}"], np.float64) for i in range(3)], axis=1)
    dc_book, dc_bytes = _codebook(dc.ravel())
    alpha = np.round(255 / (1 + np.exp(-np.asarray(columns["opacity"], np.float64))))
    alpha = np.nan_to_num(alpha, nan=0).clip(0, 255).astype(np.uint8)[:, None]
    files["sh0.webp"] = _webp(np.hstack([dc_bytes.reshape(n, 3), alpha]), width)
    meta = {"version": VERSION, "asset": {"generator": "splatlab"}, "count": n,
            "means": {"mins": mins.tolist(), "maxs": maxs.tolist(),
                      "files": ["means_l.webp", "means_u.webp"]},
            "scales": {"codebook": scale_book.tolist(), "files": ["scales.webp"]},
            "quats": {"files": ["quats.webp"]},
            "sh0": {"codebook": dc_book.tolist(), "files": ["sh0.webp"]}}
    rest = sum(1 for k in columns if k.startswith("f_rest_"))
    bands = {9: 1, 24: 2, 45: 3}.get(rest, 0)
    if bands:
        coefficients = SH_COEFFICIENTS[bands]
        sh = np.stack([np.asarray(columns[f"f_rest_{i}"], np.float64) for i in range(rest)],
                      axis=1)
        book, codes = _codebook(sh.ravel())
        palette, labels = np.unique(codes.reshape(n, rest), axis=0, return_inverse=True)
        if len(palette) > 65536:
            raise ValueError("more than 65,536 distinct SH rows: this encoder keeps each one")
        # palette entry k, coefficient j, channel c -> pixel (k // 64, k % 64 * coeffs + j)
        texels = palette.reshape(-1, 3, coefficients).transpose(0, 2, 1).reshape(-1, 3)
        centroid_rows = -(-len(palette) // 64)
        grid = np.zeros((centroid_rows * 64 * coefficients, 4), np.uint8)
        grid[:len(texels), :3] = texels
        grid[:, 3] = 255
        files["shN_centroids.webp"] = _webp(grid, 64 * coefficients)
        labels = labels.reshape(-1).astype(np.uint32)
        files["shN_labels.webp"] = _webp(np.hstack([
            (labels & 255)[:, None].astype(np.uint8), (labels >> 8)[:, None].astype(np.uint8),
            np.zeros((n, 1), np.uint8), opaque]), width)
        meta["shN"] = {"count": len(palette), "bands": bands, "codebook": book.tolist(),
                       "files": ["shN_centroids.webp", "shN_labels.webp"]}
    files[META] = json.dumps(meta).encode()
    return files


def bundle(files: dict[str, bytes]) -> bytes:
    """The ``.sog`` zip of SOG files (stored, meta.json last, as splat-transform)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(files, key=lambda n: n == META):
            archive.writestr(name, files[name])
    return buffer.getvalue()


def read_meta_only(path: str | os.PathLike) -> dict:
    """The parsed meta.json of a SOG (for detection and ``info``), checked.

    Example:
        >>> from splatlab import data
        >>> read_meta_only(data.path("sample.sog"))["count"]
        2048
    """
    path = Path(path)
    source = _Source(path)
    try:
        meta_name = path.name if source.folder is not None and not path.is_dir() else META
        return _parse_meta(source.read(meta_name, _MAX_META_BYTES), path)
    finally:
        source.close()


__all__ = ["MAX_COUNT", "META", "SH_COEFFICIENTS", "VERSION", "bundle", "decode",
           "decode_reference", "encode", "is_meta", "read", "read_meta_only", "read_pixels"]
