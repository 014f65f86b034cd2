"""``splatlab plot`` and ``splatlab render``: figures as files, one-line errors, no overwrite."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import FIXTURES
from splatlab import data, save
from splatlab.cli.main import EXIT_BAD_INPUT, EXIT_OK, main


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("files")
    return {name: str(save(make(), folder / f"{name}.ply"))
            for name, make in (("trellis", data.trellis_like), ("corrupted", data.corrupted))}


def _pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_plot_writes_a_png_of_the_asked_size_whose_content_follows_the_field(files, tmp_path,
                                                                             capsys):
    paths = [files["trellis"], files["corrupted"]]
    opacity, scale = tmp_path / "opacity.png", tmp_path / "scale.png"
    assert main(["plot", *paths, "--field", "opacity", "-o", str(opacity),
                 "--size", "640x400"]) == EXIT_OK
    assert main(["plot", *paths, "--field", "scale_0", "-o", str(scale),
                 "--size", "640x400"]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"wrote {opacity}: opacity of 2 files, 640 x 400 px PNG"
    a, b = _pixels(opacity), _pixels(scale)
    assert a.shape == b.shape == (400, 640, 3)
    assert (a != b).any(axis=2).mean() > 0.01  # other bars, other ticks, other labels
    assert (a < 128).any(axis=2).mean() > 0.005  # drawn on, not blank
    activated = tmp_path / "alpha.png"
    assert main(["plot", *paths, "--field", "opacity", "--activated", "--bins", "64",
                 "-o", str(activated), "--size", "640x400"]) == EXIT_OK
    assert (_pixels(activated) != a).any()


def test_plot_writes_svg_and_pdf_by_extension(files, tmp_path):
    svg, pdf = tmp_path / "a.svg", tmp_path / "a.pdf"
    assert main(["plot", files["trellis"], "--field", "alpha", "-o", str(svg)]) == EXIT_OK
    assert main(["plot", files["trellis"], "--field", "x", "-o", str(pdf)]) == EXIT_OK
    assert b"<svg" in svg.read_bytes()[:1000] and pdf.read_bytes().startswith(b"%PDF")


def test_plot_of_a_real_scan(tmp_path):
    path = FIXTURES / "hamburger.ply"
    if not path.exists():
        pytest.skip(f"{path} absent")
    out = tmp_path / "hamburger.png"
    assert main(["plot", str(path), "--field", "opacity", "--activated", "-o", str(out),
                 "--size", "800x500"]) == EXIT_OK
    assert _pixels(out).shape == (500, 800, 3)


@pytest.mark.parametrize("case", ["not a ply", "no field", "extension", "exists", "labels"])
def test_plot_bad_input_exits_2_with_one_line(case, files, tmp_path, capsys):
    out = tmp_path / "out.png"
    args = ["plot", files["trellis"], "--field", "opacity", "-o", str(out)]
    if case == "not a ply":
        bad = tmp_path / "bad.ply"
        bad.write_bytes(b"not a ply at all")
        args[1] = str(bad)
    elif case == "no field":
        args[3] = "nope"
    elif case == "extension":
        args[-1] = str(tmp_path / "out.txt")
    elif case == "exists":
        out.write_bytes(b"keep me")
    else:
        args += ["--labels", "one", "two"]
    assert main(args) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("splatlab: ") and "Traceback" not in err
    expected = {"not a ply": "bad.ply", "no field": "no field 'nope'",
                "extension": "unknown figure format '.txt'", "exists": "--overwrite",
                "labels": "2 labels for 1 files"}[case]
    assert expected in err
    assert out.read_bytes() == b"keep me" if case == "exists" else not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary


def test_plot_overwrites_only_when_asked(files, tmp_path):
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    assert main(["plot", files["trellis"], "--field", "opacity", "-o", str(out),
                 "--overwrite"]) == EXIT_OK
    assert out.read_bytes().startswith(b"\x89PNG")


def test_render_writes_the_rig_views(files, tmp_path, capsys):
    out = tmp_path / "views.png"
    assert main(["render", files["trellis"], "-o", str(out), "--views", "2",
                 "--resolution", "32", "--device", "cpu"]) == EXIT_OK
    line = capsys.readouterr().out.strip()
    assert line == (f"wrote {out}: views 0, 8 of trellis.ply (as the validator decodes it),"
                    " 32 px, PNG")
    pixels = _pixels(out)
    assert pixels.shape[1] > pixels.shape[0] > 100  # two views side by side, titled
    colourful = (pixels.max(axis=2).astype(int) - pixels.min(axis=2)) > 40
    assert colourful.mean() > 0.01  # the splat's colours, not only black titles on white
    assert main(["render", files["trellis"], "-o", str(out)]) == EXIT_BAD_INPUT
    assert "exists" in capsys.readouterr().err


def test_render_refuses_bad_options_and_point_clouds(tmp_path, capsys):
    import splatlab

    cloud = save(splatlab.Splat.from_arrays({"x": np.zeros(3, np.float32)}), tmp_path / "c.ply")
    assert main(["render", str(cloud), "-o", str(tmp_path / "c.png")]) == EXIT_BAD_INPUT
    assert "not a 3DGS file" in capsys.readouterr().err
    assert main(["render", str(cloud), "--views", "17", "-o",
                 str(tmp_path / "c.png")]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "c.png").exists()


def test_help_lists_both_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "plot" in text and "render" in text and "``" not in text


def test_the_png_is_what_histogram_draws(files, tmp_path):
    from splatlab import load
    from splatlab.cli.commands.plot import histogram_figure

    out = tmp_path / "a.png"
    assert main(["plot", files["trellis"], "--field", "scale_1", "--bins", "32", "-o", str(out),
                 "--size", "320x200"]) == EXIT_OK
    figure = histogram_figure([load(files["trellis"])], "scale_1", True, 32, False,
                              ["trellis.ply"], (320, 200))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    assert np.array_equal(_pixels(out), _pixels(buffer))
