"""A render of several views shows its progress where a person watches, nowhere else."""

from __future__ import annotations

from splatlab import data
from splatlab.rendering.cameras import validator_rig
from splatlab.rendering.rasterizer import render


def test_several_views_show_a_bar_one_view_none(capsys, monkeypatch):
    splat, rig = data.trellis_like(), validator_rig(16)
    monkeypatch.setenv("SPLATLAB_PROGRESS", "1")
    assert len(render(splat, rig[:3], device="cpu", backend="torch")) == 3
    err = capsys.readouterr().err
    assert "render" in err and "/3 [" in err and "view" in err  # the bar of 3 (its last
    # update may fall within tqdm's minimum interval and never be drawn)
    render(splat, rig[:1], device="cpu", backend="torch")  # one view: nothing to follow
    assert capsys.readouterr().err == ""


def test_no_bar_where_nobody_watches(capsys, monkeypatch):
    monkeypatch.delenv("SPLATLAB_PROGRESS", raising=False)  # pytest's stderr: not a terminal
    render(data.trellis_like(), validator_rig(16)[:3], device="cpu", backend="torch")
    assert capsys.readouterr().err == ""
