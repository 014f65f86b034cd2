"""Export repaired splats with an audit record: the PLY and a JSON sidecar, all or nothing.

The sidecar ``OUT.repair.json`` holds the input path and sha256, the output sha256,
the repair's record (strategy, parameters, seed, device, before/after statistics and gate
verdicts; for :func:`splatlab.repair.auto`, every step's record under ``steps``), the
splatlab version and the time. The PLY and the sidecar are written to
temporary files beside their targets and renamed into place only when both are complete:
a failure (a full disk, a read-only folder) leaves the folder as it was. With ``backup``
(replacing the input in place) the input is first copied to ``IN.bak`` (or
``IN.<UTC time>.bak`` when that exists).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from splatlab import data, load, repair
    >>> source = data.path("chained.ply")
    >>> fixed, record = repair.auto(load(source))
    >>> out = Path(tempfile.mkdtemp()) / "fixed.ply"
    >>> meta = export(source, fixed, record, out)
    >>> meta["strategy"], [step["strategy"] for step in meta["steps"]], sidecar_path(out).exists()
    ('auto', ['undo_double_logit'], True)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from .._version import __version__
from ..analysis.differences import diff
from ..core.io import load, save
from ..core.ply import default_file_mode, not_written
from ..core.splat import Splat
from .strategies import RepairRecord

SIDECAR_SUFFIX = ".repair.json"


def sidecar_path(out: str | os.PathLike) -> Path:
    """Where the record of ``out`` goes: ``OUT.repair.json``.

    Example:
        >>> sidecar_path("a/b.ply").name
        'b.ply.repair.json'
    """
    out = Path(out)
    return out.with_name(out.name + SIDECAR_SUFFIX)


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes.

    Example:
        >>> len(sha256(__file__))
        64
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export(source: str | os.PathLike, fixed: Splat, record: RepairRecord,
           out: str | os.PathLike, backup: bool = False) -> dict:
    """Write ``fixed`` to ``out`` and its record to ``OUT.repair.json``; all or nothing.

    ``source`` is the file ``fixed`` was repaired from (hashed into the record).
    ``record`` (:meth:`RepairRecord.to_dict`) is spread at the sidecar's top level:
    ``strategy``, ``parameters``, ``seed``... and a composite's ``steps``
    (:func:`splatlab.repair.auto`, :func:`splatlab.repair.combine`).
    ``out`` may be ``source`` itself only with ``backup=True``. Existing outputs are
    replaced: callers decide whether that is allowed. Returns the sidecar dict.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from splatlab import data, load, repair
        >>> fixed, record = repair.uniform_noise(load(data.path("corrupted.ply")), seed=0)
        >>> out = Path(tempfile.mkdtemp()) / "noisy.ply"
        >>> export(data.path("corrupted.ply"), fixed, record, out)["output_sha256"] == sha256(out)
        True
    """
    source, out = Path(source), Path(out)
    sidecar = sidecar_path(out)
    made: list[Path] = []
    temporary: list[Path] = []
    try:
        tmp = _temporary_beside(out, temporary)
        save(fixed, tmp, overwrite=True)
        now = datetime.now(timezone.utc)
        meta = {"input": str(source), "input_sha256": sha256(source), "output": str(out),
                "output_sha256": sha256(tmp), "backup": None, "time": now.isoformat(),
                "splatlab_version": __version__, **record.to_dict()}
        if backup:
            meta["backup"] = str(_backup(source, now, made))
        written = _temporary_beside(sidecar, temporary)
        written.write_bytes(json.dumps(meta, indent=1).encode())
        os.chmod(written, default_file_mode())
        os.chmod(tmp, source.stat().st_mode & 0o777 if backup else default_file_mode())
        os.replace(written, sidecar)
        os.replace(tmp, out)
        return meta
    except OSError as e:
        _remove(made)
        raise not_written(out, e) from None
    except BaseException:
        _remove(made)
        raise
    finally:
        _remove(temporary)


def _temporary_beside(path: Path, temporary: list[Path]) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    temporary.append(Path(name))
    return temporary[-1]


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


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


def verify(source: str | os.PathLike, out: str | os.PathLike, record: RepairRecord) -> dict:
    """Reload an export and prove it changed only what its repairs claim.

    Returns ``changed`` (properties that differ from ``source``, by :func:`splatlab.diff`),
    ``intended`` (fields of the triggered repairs: of a composite, its triggered steps),
    ``ok`` (changed is within intended), and whether the record's sha256 matches the file
    on disk.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from splatlab import data, load, repair
        >>> source = data.path("chained.ply")
        >>> fixed, record = repair.auto(load(source))
        >>> out = Path(tempfile.mkdtemp()) / "fixed.ply"
        >>> _ = export(source, fixed, record, out)
        >>> result = verify(source, out, record)
        >>> result["ok"], result["changed"], result["sha256_matches"]
        (True, ['opacity'], True)
    """
    steps = (record,) if record.steps is None else record.steps
    before, after = load(source), load(out)
    changes = diff(before, after)
    changed = [name for name in before.properties if changes.loc[name, "changed"] > 0]
    intended = sorted({f for r in steps if r.triggered for f in r.fields})
    meta = json.loads(sidecar_path(out).read_text())
    return {"changed": changed, "intended": intended,
            "ok": set(changed) <= set(intended) and before.properties == after.properties,
            "sha256_matches": meta["output_sha256"] == sha256(out)}
