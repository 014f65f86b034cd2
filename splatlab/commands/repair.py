"""``splatlab repair IN... (-o OUT | --in-place) --strategy NAME``: repair files, with a record.

Each repaired PLY gets a JSON sidecar ``OUT.repair.json``: input path and sha256,
output sha256, strategy, parameters, seed, device, before/after statistics and gate
verdicts, splatlab version and time. The PLY is written to a temporary file, the
sidecar next, and only then is the PLY renamed into place: a failure leaves neither
behind (and ``--in-place`` keeps the input, backed up as ``IN.bak`` or
``IN.<UTC time>.bak`` when that exists).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..cli import BadInput, for_each_file
from ..io import load, save
from ..loadchain import CLAMP_1E3, CLAMP_1E4
from ..ply import atomic_write, default_file_mode
from ..repair import STRATEGIES, RepairRecord
from ..splat import Splat, SplatFieldError
from .diagnose import bad_input

SIDECAR_SUFFIX = ".repair.json"
CLAMPS = {"1e-4": CLAMP_1E4, "1e-3": CLAMP_1E3}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("repair", help="repair PLY files; writes OUT and OUT.repair.json",
                            description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="IN")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("-o", "--output", metavar="OUT",
                       help="output file, or a directory (required for several inputs)")
    where.add_argument("--in-place", action="store_true",
                       help="replace each input, keeping a backup IN.bak")
    parser.add_argument("--strategy", required=True, choices=sorted(STRATEGIES))
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--seed", type=int, help="RNG seed (uniform_noise, match_distribution,"
                        " scales)")
    parser.add_argument("--device", help="uniform_noise: torch device (cpu, cuda); numpy if unset")
    parser.add_argument("--mode", choices=["median", "drop", "legacy"], default="median",
                        help="nonfinite: what to do with NaN/inf (default median)")
    parser.add_argument("--clamp", choices=sorted(CLAMPS), default="1e-4",
                        help="undo_double_logit: the miner's clamp (default 1e-4)")
    parser.add_argument("--clamped-to", default="bound", metavar="bound|keep|LOW,HIGH",
                        help="undo_double_logit: value for clamped opacities (default bound)")
    parser.add_argument("--field", help="match_distribution: the property to map")
    parser.add_argument("--reference", default="prior", metavar="prior|FILE",
                        help="match_distribution, scales: a healthy PLY or the documented prior")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.device and args.strategy != "uniform_noise":
        raise BadInput("--device applies to --strategy uniform_noise only")
    if args.strategy == "match_distribution" and not args.field:
        raise BadInput("--strategy match_distribution needs --field")
    out_dir = _output_dir(args)
    options = _options(args)

    def work(path: Path) -> None:
        out = path if args.in_place else (out_dir / path.name if out_dir else Path(args.output))
        if not args.in_place and out.exists() and os.path.samefile(out, path):
            raise BadInput(f"{path}: output is the input (use --in-place)")
        if not out.parent.is_dir():
            raise BadInput(f"{out.parent}: no such directory")
        sidecar = out.with_name(out.name + SIDECAR_SUFFIX)
        for target in (out, sidecar):
            if target.exists() and not (args.overwrite or args.in_place):
                raise BadInput(f"{target}: exists (pass --overwrite to replace it)")
        try:
            splat = load(path)
            fixed, record = STRATEGIES[args.strategy](splat, **options)
        except (SplatFieldError, ValueError) as e:
            raise bad_input(path, e) from e
        write_repaired(path, fixed, record, out, sidecar, backup=args.in_place)
        print(f"{path} -> {out}: {record!r}")

    return for_each_file(args.files, work)


def _output_dir(args: argparse.Namespace) -> Path | None:
    if args.in_place:
        return None
    out = Path(args.output)
    if len(args.files) > 1:
        if out.exists() and not out.is_dir():
            raise BadInput(f"{out}: not a directory (several inputs need -o DIR)")
        out.mkdir(parents=True, exist_ok=True)
        return out
    return out if out.is_dir() else None


def _options(args: argparse.Namespace) -> dict:
    name = args.strategy
    if name == "uniform_noise":
        return {"seed": args.seed, "device": args.device}
    if name == "nonfinite":
        return {"mode": args.mode}
    if name == "undo_double_logit":
        return {"clamp": CLAMPS[args.clamp], "clamped_to": _clamped_to(args.clamped_to)}
    reference = args.reference if args.reference == "prior" else load(args.reference)
    seed = 0 if args.seed is None else args.seed
    if name == "match_distribution":
        return {"field": args.field, "reference": reference, "seed": seed}
    return {"reference": reference, "seed": seed}


def _clamped_to(text: str) -> str | tuple[float, float]:
    if text in ("bound", "keep"):
        return text
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise BadInput(f"--clamped-to must be bound, keep or LOW,HIGH, not {text!r}") from None
    return low, high


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_repaired(source: Path, fixed: Splat, record: RepairRecord, out: Path, sidecar: Path,
                   backup: bool = False) -> dict:
    """Write ``fixed`` to ``out`` and its record to ``sidecar``; all or nothing.

    The PLY goes to a temporary file beside ``out``; the sidecar is written atomically;
    then the PLY is renamed onto ``out``. With ``backup`` (in place), ``source`` is
    first copied to ``source.bak`` (or a timestamped name). Returns the sidecar dict.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    made: list[Path] = []
    try:
        save(fixed, tmp, overwrite=True)
        now = datetime.now(timezone.utc)
        meta = {"input": str(source), "input_sha256": sha256(source), "output": str(out),
                "output_sha256": sha256(tmp), "backup": None, "time": now.isoformat(),
                "splatlab_version": __version__, **record.to_dict()}
        if backup:
            meta["backup"] = str(_backup(source, now, made))
        atomic_write(sidecar, iter([json.dumps(meta, indent=1).encode()]), overwrite=True)
        made.append(sidecar)
        mode = source.stat().st_mode & 0o777 if backup else default_file_mode()
        os.chmod(sidecar, default_file_mode())
        os.chmod(tmp, mode)
        os.replace(tmp, out)
        return meta
    except BaseException:
        for path in made:
            path.unlink(missing_ok=True)
        raise
    finally:
        tmp.unlink(missing_ok=True)


def _backup(source: Path, now: datetime, made: list[Path]) -> Path:
    target = source.with_name(source.name + ".bak")
    if target.exists():
        target = source.with_name(f"{source.name}.{now.strftime('%Y%m%dT%H%M%S%fZ')}.bak")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=source.parent)
    os.close(fd)
    try:
        shutil.copy2(source, tmp)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    made.append(target)
    return target
