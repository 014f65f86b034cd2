"""``splatlab info FILE...``: format, layout, counts and encoding of each file, and whether
the subnet-17 submission path accepts it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ...core.io import load
from ...core.splat import Splat, SplatFieldError
from ...world.submission import submission_problems
from ..main import for_each_file


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("info", help="format, layout, counts and encoding of 3DGS files",
                            description=__doc__.replace("``", "").split("\n\n")[0])
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.set_defaults(run=run)


def describe(splat: Splat) -> dict:
    """The facts ``splatlab info`` prints, as a dict.

    Example:
        >>> from splatlab import data, load
        >>> facts = describe(load(data.path("trellis.ply")))
        >>> facts["format"], facts["gaussians"], facts["submission_problems"]
        ('ply', 7040, [])
    """
    try:
        degree: int | str = splat.sh_degree
    except SplatFieldError as e:
        degree = f"invalid ({e})"
    origin = splat.provenance.format
    facts = {
        "file": str(splat.source),
        "format": origin.name,
        "layout": (splat.header.format if origin.name == "ply" else
                   f"version {origin.version}" if origin.version is not None else None),
        "format_label": origin.label,
        "container": origin.container,
        "fractional_bits": origin.fractional_bits,
        "quantised": origin.quantised,
        "gaussians": splat.count,
        "properties": len(splat.properties),
        "bytes_per_gaussian": splat.stored_table.dtype.itemsize,
        "is_gaussian": splat.is_gaussian,
        "sh_degree": degree if splat.is_gaussian else None,
        "other_elements": {e.name: e.count for e in splat.header.elements if e.name != "vertex"},
        "comments": list(splat.header.comments),
        "submission_problems": submission_problems(splat) if origin.name == "ply" else [],
    }
    if splat.is_gaussian:
        enc = splat.encoding
        facts["encoding"] = {"opacity": enc.opacity, "opacity_looks": enc.opacity_looks,
                             "scales": enc.scales, "scales_look": enc.scales_look,
                             "evidence": enc.evidence}
    return facts


def run(args: argparse.Namespace) -> int:
    def show(path: Path) -> None:
        facts = describe(load(path))
        if args.json:
            print(json.dumps(facts))
            return
        kind = (f"PLY {facts['layout']}" if facts["format"] == "ply" else
                f"SPZ {facts['layout']} ({facts['container']}, {facts['fractional_bits']}"
                " fractional bits, quantised)" if facts["format"] == "spz" else
                facts["format_label"])
        print(f"{facts['file']}: {kind}, {facts['gaussians']:,} gaussians,"
              f" {facts['properties']} properties ({facts['bytes_per_gaussian']} bytes each)")
        if not facts["is_gaussian"]:
            print("  not a 3DGS file (plain point cloud or other data)")
        else:
            enc = facts["encoding"]
            print(f"  SH degree {facts['sh_degree']}; opacity declared {enc['opacity']},"
                  f" looks {enc['opacity_looks']}; scales declared {enc['scales']},"
                  f" look {enc['scales_look']}")
        for name, count in facts["other_elements"].items():
            print(f"  element {name}: {count:,}")
        problems = facts["submission_problems"]
        if problems:
            print(f"  cannot be submitted (pyspz would refuse it): {problems[0]}"
                  + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    return for_each_file(args.files, show)
