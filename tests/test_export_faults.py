"""Exports under faults: a full disk, a quota, a read-only folder, a symlink target, two
writers at once. The input is never touched, no partial or temporary file remains, and
the message (API and command line) names the target and says what happened.

The full disk is a real 256 KiB tmpfs and the read-only folder a real read-only bind mount
where this process may mount (root in CI's container); the quota is a real file-size limit
(``RLIMIT_FSIZE``) in a child process, which needs no privilege.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from splatlab import load, repair, save
from splatlab.cli.main import EXIT_BAD_INPUT, main
from splatlab.data import trellis_like
from splatlab.repair.export import export

BIG = 4_096  # gaussians: 278 KB as a TRELLIS PLY, more than the tmpfs holds


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mount(args: list[str], target: Path) -> None:
    result = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if result.returncode:
        pytest.skip(f"cannot mount here ({result.stderr.strip() or result.returncode})")


@pytest.fixture
def full_disk(tmp_path):
    """A 256 KiB tmpfs, unmounted afterwards."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    _mount(["-t", "tmpfs", "-o", "size=256k", "tmpfs"], folder)
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder this process cannot write in: a read-only bind mount (root), else mode 0555."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() == 0:
        _mount(["--bind", "-o", "ro", str(folder)], folder)
        yield folder
        subprocess.run(["umount", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "input.ply"
    save(trellis_like(BIG, seed=1), path)
    return path


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    return err[0]


def test_a_full_disk_leaves_nothing_and_keeps_what_was_there(full_disk, source):
    before = _digest(source)
    target = full_disk / "out.ply"
    with pytest.raises(OSError) as raised:
        save(load(source), target)
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(target) and "nothing written" in str(raised.value)
    assert list(full_disk.iterdir()) == []

    target.write_bytes(b"an earlier file")
    with pytest.raises(OSError):
        save(load(source), target, overwrite=True)
    assert target.read_bytes() == b"an earlier file"
    assert [p.name for p in full_disk.iterdir()] == ["out.ply"]
    assert _digest(source) == before


def test_a_full_disk_on_the_command_line_is_one_line(full_disk, source, capsys):
    # a PLY copy of 4,096 gaussians does not fit; their SPZ (about 60 KB) does
    assert main(["convert", str(source), str(full_disk / "copy.ply")]) == EXIT_BAD_INPUT
    line = _one_error_line(capsys)
    assert str(full_disk / "copy.ply") in line and "No space left on device" in line
    assert main(["convert", str(source), str(full_disk / "out.spz")]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in full_disk.iterdir()) == ["out.spz"]


def test_a_repair_export_on_a_full_disk_leaves_neither_file(full_disk, tmp_path):
    source = tmp_path / "corrupted.ply"
    save(trellis_like(BIG, seed=2, opacity=-9.21), source)
    fixed, record = repair.auto(load(source))
    with pytest.raises(OSError) as raised:
        export(source, fixed, record, full_disk / "fixed.ply")
    assert raised.value.filename == str(full_disk / "fixed.ply")
    assert list(full_disk.iterdir()) == []


def test_a_quota_refuses_in_one_line_and_leaves_nothing(tmp_path, source):
    """The child may write files of at most 64 KiB; its PLY is 278 KB."""
    out = tmp_path / "quota"
    out.mkdir()
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from splatlab.cli.main import main
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
        sys.exit(main(["convert", {str(source)!r}, {str(out / "out.ply")!r}]))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == EXIT_BAD_INPUT, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and str(out / "out.ply") in lines[0], lines
    assert "File too large" in lines[0]
    assert list(out.iterdir()) == []


def test_a_read_only_folder_is_named_and_nothing_changes(read_only_folder, source, capsys):
    before = _digest(source)
    target = read_only_folder / "out.ply"
    with pytest.raises(OSError) as raised:
        save(load(source), target)
    assert raised.value.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    assert raised.value.filename == str(target)
    assert main(["convert", str(source), str(target)]) == EXIT_BAD_INPUT
    assert str(target) in _one_error_line(capsys)
    assert list(read_only_folder.iterdir()) == []
    assert _digest(source) == before


def test_a_symlink_target_is_replaced_never_written_through(tmp_path, source):
    before = _digest(source)
    link = tmp_path / "link.ply"
    link.symlink_to(source)
    changed = trellis_like(64, seed=3)
    with pytest.raises(FileExistsError, match="link.ply: exists"):
        save(changed, link)
    save(changed, link, overwrite=True)
    assert not link.is_symlink() and load(link).count == 64
    assert _digest(source) == before


def test_a_dangling_symlink_counts_as_an_existing_target(tmp_path):
    link = tmp_path / "dangling.ply"
    link.symlink_to(tmp_path / "nowhere.ply")
    with pytest.raises(FileExistsError):
        save(trellis_like(32), link)
    assert link.is_symlink() and not (tmp_path / "nowhere.ply").exists()


@pytest.mark.parametrize("overwrite", [False, True])
def test_two_writers_at_once(tmp_path, overwrite):
    """Eight threads save different splats to one name at the same moment: without
    ``overwrite`` exactly one wins and the others are refused; with it every write lands
    whole, one after another. Either way the file is one writer's, complete."""
    target = tmp_path / "race.ply"
    splats = [trellis_like(2_016, seed=10 + i) for i in range(8)]
    start = threading.Barrier(len(splats))
    outcomes: list[str | None] = [None] * len(splats)

    def write(i: int) -> None:
        start.wait()
        try:
            save(splats[i], target, overwrite=overwrite)
            outcomes[i] = "saved"
        except FileExistsError:
            outcomes[i] = "refused"

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(splats))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("saved") == (len(splats) if overwrite else 1), outcomes
    assert outcomes.count("saved") + outcomes.count("refused") == len(splats)
    written = load(target).opacity
    assert any(np.array_equal(written, s.opacity) for s in splats)
    if not overwrite:
        assert np.array_equal(written, splats[outcomes.index("saved")].opacity)
    assert [p.name for p in tmp_path.iterdir()] == ["race.ply"]
