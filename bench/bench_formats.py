"""Decode speed of every 3DGS format splatlab reads, beside gsply's readers (issue 12).

Inputs (built once into ``--dir``, not timed): an INRIA SH-degree-3 PLY of 762,112
gaussians (``_files``), and from it with splatlab's writers a compressed PLY (Morton order),
SPZ version 4 and version 2 in both containers, ``.splat`` and ``.ksplat``; with gsply's
writer (its defaults) SPZ version 3 in gzip, the SPZ most files of the field are; SOG is the
reference ``sample_sh3.sog`` of ``../shared/fixtures/formats`` scaled up to 762,112
gaussians (its pixels repeated, re-encoded as lossless WebP; palette and codebooks kept).

Timed, in interleaved rounds (every method once a round, medians printed as a markdown
table): file path -> decoded float32 arrays. Beside the ratio of the medians and of the
minimums, ``paired`` is the median over rounds of that round's ratio: the two readers of a
format run one after the other in a round, so on a machine whose load comes and goes it
compares them under the same load. ``splatlab.load`` for every format (a PLY is
memory-mapped, so its row also copies the table out, to be comparable); gsply's
``plyread`` (PLY, compressed PLY), ``sogread`` (SOG, needs ``imagecodecs``) and
``read_spz`` (SPZ v2 gzip, v3, v4) where gsply reads the format. gsply compiles its numba
kernels on first use: one untimed warm-up call each before the rounds.

SPZ's gzip container: both readers inflate with python-isal where it is installed
(splatlab's ``[fast]`` extra, and gsply's ``spz`` extra), else with the standard zlib; the
header line says which. ``--inflate zlib`` hides python-isal from both, to compare the
fallbacks.

Usage:
    python bench/bench_formats.py [--dir FOLDER] [--rounds 5] [--rows N] [--inflate zlib]
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _files import inria_file  # noqa: E402

import splatlab  # noqa: E402
from splatlab.core import dotsplat, ksplat, spz  # noqa: E402
from splatlab.core.sog import META, _webp  # noqa: E402

ROWS = 762_112
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "formats"


def _scaled_sog(target: Path, rows: int) -> Path | None:
    """``sample_sh3.sog`` with its gaussians repeated to ``rows`` (lossless re-encoding)."""
    from PIL import Image

    source = FIXTURES / "sample_sh3.sog"
    if not source.exists():
        return None
    if target.exists():
        return target
    with zipfile.ZipFile(source) as bundle:
        files = {n: bundle.read(n) for n in bundle.namelist()}
    meta = json.loads(files[META])
    count = meta["count"]
    width = -(-int(np.ceil(np.sqrt(rows))) // 4) * 4
    per_row = [*meta["means"]["files"], *meta["quats"]["files"], *meta["scales"]["files"],
               *meta["sh0"]["files"], meta["shN"]["files"][1]]
    for name in per_row:
        pixels = np.asarray(Image.open(io.BytesIO(files[name])).convert("RGBA")).reshape(-1, 4)
        files[name] = _webp(np.resize(pixels[:count], (rows, 4)), width)
    meta["count"] = rows
    files[META] = json.dumps(meta).encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as bundle:
        for name in sorted(files, key=lambda n: n == META):
            bundle.writestr(name, files[name])
    return target


def build(folder: Path, rows: int) -> dict[str, Path]:
    """Every input file (made once; the same name means the same content)."""
    ply = inria_file(folder, rows)
    paths = {"PLY (INRIA SH 3)": ply}
    splat = None
    made = {"compressed PLY": folder / f"{ply.stem}.compressed.ply",
            "SPZ v4 (zstd streams)": folder / f"{ply.stem}.v4.spz",
            "SPZ v2 (gzip)": folder / f"{ply.stem}.gzip.spz",
            "SPZ v2 (zstd, 404)": folder / f"{ply.stem}.zstd.spz",
            ".splat": folder / f"{ply.stem}.splat", ".ksplat": folder / f"{ply.stem}.ksplat"}
    for label, path in made.items():
        if not path.exists():
            splat = splat or splatlab.load(ply)
            columns = {n: np.asarray(splat.column(n)) for n in splat.properties}
            if label == "compressed PLY":
                splatlab.save(splat, path)
            elif label.startswith("SPZ v4"):
                path.write_bytes(spz.to_streams_bytes(spz.encode(columns)))
            elif label.startswith("SPZ v2"):
                splatlab.save(splat, path, container="gzip" if "gzip" in label else "zstd")
            elif label == ".splat":
                path.write_bytes(dotsplat.encode(columns))
            else:
                path.write_bytes(ksplat.encode(columns))
        paths[label] = path
    v3 = folder / f"{ply.stem}.gsply-v3.spz"     # what gsply writes by default: v3, gzip
    if not v3.exists():
        import gsply

        gsply.write_spz(v3, gsply.plyread(ply))
    paths["SPZ v3 (gzip, gsply's writer)"] = v3
    sog = _scaled_sog(folder / f"sample_sh3_x{rows}.sog", rows)
    if sog is not None:
        paths["SOG (sample_sh3 scaled up)"] = sog
    return paths


def methods(paths: dict[str, Path]) -> list[tuple[str, str, Callable[[], object]]]:
    """(format, reader, call) for every timed method."""
    import gsply
    from gsply.sog_reader import sogread

    out = []
    for label, path in paths.items():
        if label.startswith("PLY"):
            out.append((label, "splatlab.load + copy",
                        lambda p=path: np.array(splatlab.load(p).table)))
        else:
            out.append((label, "splatlab.load", lambda p=path: splatlab.load(p)))
        if label.startswith(("PLY", "compressed")):
            out.append((label, "gsply.plyread", lambda p=path: gsply.plyread(p)))
        elif label.startswith("SOG"):
            out.append((label, "gsply sogread", lambda p=path: sogread(p)))
        elif label.startswith(("SPZ v4", "SPZ v2 (gzip)", "SPZ v3")):
            out.append((label, "gsply.read_spz", lambda p=path: gsply.read_spz(p)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "splatlab-bench")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--inflate", choices=("isal", "zlib"), default="isal",
                        help="zlib: hide python-isal from both readers (their fallbacks)")
    args = parser.parse_args()
    if args.inflate == "zlib":
        sys.modules["isal"] = None     # import isal fails: both fall back to zlib
    paths = build(args.dir, args.rows)
    timed = methods(paths)
    for _, _, call in timed:          # warm-up: numba compilation, page cache
        call()
    times: dict[tuple[str, str], list[float]] = {(f, r): [] for f, r, _ in timed}
    for _ in range(args.rounds):
        for fmt, reader, call in timed:
            start = time.perf_counter()
            call()
            times[(fmt, reader)].append(time.perf_counter() - start)
    import gsply.spz

    inflaters = (spz._inflater().__name__.split(".")[-1],
                 "isal_zlib" if hasattr(gsply.spz, "_igzip") else "zlib")
    print(f"{args.rows:,} gaussians; {args.rounds} rounds, medians;"
          f" Python {platform.python_version()}, numpy {np.__version__};"
          " gzip inflate: splatlab {}, gsply {}\n".format(*inflaters))
    print("| format | file MB | reader | median ms | min ms | splatlab / gsply (median, min)"
          " | paired |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for fmt in dict.fromkeys(f for f, _, _ in timed):
        rows = {r: t for (f, r), t in times.items() if f == fmt}
        ours = next(t for r, t in rows.items() if r.startswith("splatlab"))
        theirs = next((t for r, t in rows.items() if r.startswith("gsply")), None)
        size = paths[fmt].stat().st_size / 2**20
        for reader, t in rows.items():
            ratio = paired = ""
            if theirs and reader.startswith("splatlab"):
                ratio = (f"{np.median(ours) / np.median(theirs):.2f},"
                         f" {min(ours) / min(theirs):.2f}")
                paired = f"{np.median(np.divide(ours, theirs)):.2f}"
            print(f"| {fmt} | {size:.1f} | {reader} | {np.median(t) * 1e3:.0f} |"
                  f" {min(t) * 1e3:.0f} | {ratio} | {paired} |")


if __name__ == "__main__":
    main()
