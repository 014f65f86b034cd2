"""Tests for splatlab.logs: parsing miner/worker logs and the rates built on them."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splatlab.analysis.logs import (
    format_summary,
    parse_files,
    parse_lines,
    parse_time,
    rates_by_validator,
    rates_by_window,
    summarize,
    wilson_interval,
)
from splatlab.cli.commands.logs import logs_report
from splatlab.world.miner_logs import (
    ESC,
    FEEDBACK_FIELDS,
    PHASE3_START,
    detection_block,
    feedback_message,
    loguru_line,
    phase3_miner_log,
    phase3_worker_log,
    pm2_line,
)

Z95 = 1.959963984540054  # the 97.5 % point of the standard normal
START = PHASE3_START


# --- Wilson interval ---------------------------------------------------------------------


def test_wilson_4_of_21_matches_hand_computation():
    # p = 4/21 = 0.190476, z^2/n = 3.841459/21 = 0.182927, shrink = 1.182927
    # centre = (0.190476 + 0.091463) / 1.182927 = 0.238337
    # half = 1.959964 * sqrt(0.190476 * 0.809524 / 21 + 3.841459 / 1764) / 1.182927 = 0.161661
    low, high = wilson_interval(4, 21)
    assert low == pytest.approx(0.076676, abs=2e-6)
    assert high == pytest.approx(0.399998, abs=2e-5)
    assert low < 4 / 21 < high


def test_wilson_zero_successes_has_closed_form():
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(Z95**2 / (10 + Z95**2))
    assert wilson_interval(10, 10) == pytest.approx((1 - high, 1.0))


def test_wilson_no_trials_is_the_whole_range():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_widens_with_confidence():
    low95, high95 = wilson_interval(9, 21)
    low99, high99 = wilson_interval(9, 21, confidence=0.99)
    assert low99 < low95 and high99 > high95


@pytest.mark.parametrize(
    ("successes", "trials", "confidence"),
    [(5, 4, 0.95), (-1, 4, 0.95), (0, -1, 0.95), (1, 4, 1.0), (1, 4, 0.0)],
)
def test_wilson_rejects_impossible_arguments(successes, trials, confidence):
    with pytest.raises(ValueError):
        wilson_interval(successes, trials, confidence)


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_holds_the_point_estimate(counts):
    successes, trials = counts
    low, high = wilson_interval(successes, trials)
    assert 0.0 <= low <= successes / trials <= high <= 1.0


# --- fixer lines -------------------------------------------------------------------------


def test_detection_block_from_the_write_up():
    tables = parse_lines(detection_block(START))
    fixer = tables.fixer
    assert fixer["kind"].tolist() == ["detected", "fixed"]
    detected, fixed = fixer.iloc[0], fixer.iloc[1]
    assert detected["time"] == pd.Timestamp("2025-11-04 21:00:00")
    assert (detected["std_before"], detected["gaussians"]) == (0.003, 489_088)
    assert detected["avg_opacity"] == -9.21
    assert (fixed["std_before"], fixed["std_after"]) == (0.003, 2.047)
    assert (fixed["new_min"], fixed["new_max"], fixed["new_avg"]) == (-13.157, -5.263, -9.208)
    assert (tables.skipped, tables.duplicates) == (0, 0)


@pytest.mark.parametrize("arrow", ["→", "->", "â†’", "\ufffd\ufffd\ufffd"])
def test_fixed_line_accepts_any_arrow(arrow):
    fixer = parse_lines([f"UNIFORM opacity FIXED: std 0.003 {arrow} 2.047"]).fixer
    assert fixer[["std_before", "std_after"]].values.tolist() == [[0.003, 2.047]]


def test_clean_lines_with_and_without_a_count():
    fixer = parse_lines(
        [
            pm2_line(START, "No opacity corruption detected (354,400 gaussians)"),
            "No opacity corruption detected",
        ]
    ).fixer
    assert fixer["kind"].tolist() == ["clean", "clean"]
    assert fixer["gaussians"].iloc[0] == 354_400
    assert math.isnan(fixer["gaussians"].iloc[1])
    assert fixer["time"].iloc[0] == pd.Timestamp("2025-11-04 21:00:00")
    assert pd.isna(fixer["time"].iloc[1])


def test_continuation_lines_attach_only_to_the_event_above():
    block = detection_block(START)
    tables = parse_lines(
        [block[1], "generation started", block[0], "unrelated line", block[2], block[4], block[6]]
    )
    detected, fixed = tables.fixer.iloc[0], tables.fixer.iloc[1]
    assert math.isnan(detected["gaussians"]) and math.isnan(detected["avg_opacity"])
    assert fixed["new_avg"] == -9.208
    # orphan "All ...", "generation started", "unrelated line", orphan "avg_opacity"
    assert tables.skipped == 4


# --- feedback lines ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Feedback from [42]: Score=0.71, AvgScore=0.52, ELO=1204, Reward=0.003, "
            "Observations=17",
            (42, 0.71, 0.52, 1204.0, 0.003, 17.0),
        ),
        (
            "Feedback from [UID 7]: Score=-1.5e-2, AvgScore=-.25, ELO=1,204.5, Reward=3E-4, "
            "Observations=1,017",
            (7, -0.015, -0.25, 1204.5, 0.0003, 1017.0),
        ),
        (
            "feedback from [ 212 ]: Score=0, AvgScore=0, ELO=987, Reward=0, Observations=0",
            (212, 0.0, 0.0, 987.0, 0.0, 0.0),
        ),
    ],
)
def test_feedback_values(text, expected):
    row = parse_lines([text]).feedback.iloc[0]
    columns = ["uid", "score", "avg_score", "elo", "reward", "observations"]
    assert tuple(row[columns]) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (loguru_line(START, "INFO", feedback_message(1, 0.5)), "2025-11-04 21:00:00"),
        (pm2_line(START, feedback_message(1, 0.5)), "2025-11-04 21:00:00"),
        ("0|miner | 2025-11-04T21:00:05: " + loguru_line(START, "INFO", feedback_message(1, 0.5)),
         "2025-11-04 21:00:00"),
        ("2025-11-04T22:00:00+01:00 " + feedback_message(1, 0.5), "2025-11-04 21:00:00"),
        ("2025-11-04 21:00:00,250 - INFO - " + feedback_message(1, 0.5), "2025-11-04 21:00:00.250"),
    ],
)
def test_feedback_time_comes_from_the_prefix(line, expected):
    assert parse_lines([line]).feedback["time"].tolist() == [pd.Timestamp(expected)]


def test_garbled_and_unknown_lines_are_counted_not_fatal():
    lines = [
        "Feedback from [42]: Score=abc, AvgScore=0.5, ELO=1200, Reward=0.1, Observations=9",
        "Feedback from [42]: Score=0.7, AvgSc",  # truncated by a tail snapshot
        "Feedback from [hotkey]: Score=0.7, AvgScore=0.5, ELO=1, Reward=0, Observations=1",
        "Feedback from [123456789012345678901]: " + FEEDBACK_FIELDS,  # uid too large for int64
        "UNIFORM opacity corruption detected: std=",
        "\ufffd\ufffd\x00\x07 binary noise",
        f"{ESC}[31m{ESC}[0m",  # colour codes only: blank once stripped
        "",
        "   ",
        feedback_message(42, 0.7),
    ]
    tables = parse_lines(lines)
    assert tables.skipped == 6
    assert tables.feedback["score"].tolist() == [0.7]


# --- duplicates --------------------------------------------------------------------------


def test_overlapping_tails_count_each_event_once():
    log = phase3_miner_log()
    tables = parse_lines(log[:20] + log[12:] + log[25:])
    assert len(tables.feedback) == 31
    assert tables.duplicates == 8 + 6
    assert tables.feedback["time"].is_unique


def test_repeated_detection_block_is_dropped_whole():
    block = detection_block(START)
    tables = parse_lines(block + block)
    assert tables.fixer["kind"].tolist() == ["detected", "fixed"]
    assert (tables.duplicates, tables.skipped) == (7, 0)


def test_parse_lines_splits_a_single_string():
    tables = parse_lines("\n".join(detection_block(START)))
    assert tables.fixer["kind"].tolist() == ["detected", "fixed"]
    assert tables.skipped == 0


def test_untimed_repeats_are_kept():
    tables = parse_lines([feedback_message(42, 0.7), feedback_message(42, 0.7)])
    assert len(tables.feedback) == 2
    assert tables.duplicates == 0


def test_parse_files_dedupes_across_files_and_replaces_bad_bytes(tmp_path):
    log = phase3_worker_log()
    first, second = tmp_path / "tail-1.log", tmp_path / "tail-2.log"
    first.write_bytes("\n".join(log[:30]).encode() + b"\n\xff\xfe broken bytes\n")
    second.write_text("\n".join(log[20:]) + "\n", encoding="utf-8")
    tables = parse_files([first, str(second)])
    assert tables.fixer["kind"].value_counts().to_dict() == {"clean": 17, "detected": 4, "fixed": 4}
    # The files overlap on lines 20-29: three clean lines and the first four lines of a
    # detection block repeat (7 duplicates).  The three unrecognised "Generation finished"
    # lines there are skipped in each copy, as is the broken-bytes line.
    assert tables.duplicates == 7
    assert tables.skipped == 21 + 3 + 1
    assert set(tables.fixer["source"]) == {str(first), str(second)}


# --- summaries ---------------------------------------------------------------------------


def phase3_tables():
    return parse_lines(phase3_miner_log() + phase3_worker_log())


def test_summarize_phase3_reproduces_the_write_up():
    summary = summarize(phase3_tables(), until="2025-11-04 22:00")
    assert (summary["feedback_events"], summary["successes"]) == (21, 9)
    assert summary["success_rate"] == pytest.approx(9 / 21)
    assert summary["success_interval"] == wilson_interval(9, 21)
    assert (summary["corruption_detected"], summary["corruption_fixed"]) == (4, 4)
    assert summary["clean"] == 17
    assert summary["corruption_rate"] == pytest.approx(4 / 21)
    assert summary["corruption_interval"] == pytest.approx((0.0767, 0.4000), abs=1e-4)


def test_summarize_since_keeps_only_later_events():
    summary = summarize(phase3_tables(), since="2025-11-04T22:00:00")
    assert (summary["feedback_events"], summary["successes"]) == (10, 5)
    assert summary["corruption_detected"] + summary["clean"] == 0
    assert math.isnan(summary["corruption_rate"])
    assert summary["corruption_interval"] == (0.0, 1.0)
    assert summary["since"] == "2025-11-04T22:00:00"


def test_time_filter_drops_untimed_events():
    tables = parse_lines([feedback_message(1, 0.5), pm2_line(START, feedback_message(2, 0.5))])
    assert summarize(tables)["feedback_events"] == 2
    assert summarize(tables, since="2025-11-04")["feedback_events"] == 1


def test_success_threshold_can_follow_the_validator():
    tables = parse_lines([feedback_message(1, score) for score in (0.5, 0.61, 0.0)])
    assert summarize(tables)["successes"] == 2
    assert summarize(tables, success_above=0.6)["successes"] == 1


def test_rates_by_validator():
    table = rates_by_validator(phase3_tables())
    assert table.index.tolist() == [27, 49, 142]
    assert table["n"].tolist() == [12, 12, 7]
    assert table["successes"].tolist() == [0, 12, 2]
    assert table.loc[142, "rate"] == pytest.approx(2 / 7)
    assert (table.loc[142, "low"], table.loc[142, "high"]) == wilson_interval(2, 7)
    assert table.loc[49, "mean_score"] == pytest.approx((7 * 0.71 + 5 * 0.65) / 12)


def test_rates_by_window():
    table = rates_by_window(phase3_tables(), "1h")
    hours = [pd.Timestamp("2025-11-04 21:00"), pd.Timestamp("2025-11-04 22:00")]
    assert table.index.tolist() == hours
    assert table["n"].tolist() == [21, 10]
    assert table["successes"].tolist() == [9, 5]
    assert table["rate"].tolist() == pytest.approx([9 / 21, 0.5])
    assert table.loc[pd.Timestamp("2025-11-04 22:00"), "low"] == wilson_interval(5, 10)[0]
    assert rates_by_window(phase3_tables(), "30min")["n"].tolist() == [15, 6, 10]


def test_breakdowns_of_no_events_are_empty():
    empty = parse_lines([])
    assert rates_by_validator(empty).empty and rates_by_window(empty).empty
    summary = summarize(empty, window="1h")
    assert (summary["feedback_events"], summary["by_window"]) == (0, [])
    assert "0/0 (no events)" in format_summary(summary)


def test_format_summary_reports_the_numbers():
    text = format_summary(summarize(phase3_tables(), until="2025-11-04 22:00", window="1h"))
    assert "9/21 = 42.9%, 95% Wilson CI 24.5%-63.5%" in text
    assert "4/21 = 19.0%, 95% Wilson CI 7.7%-40.0%" in text
    assert "4 uniform-opacity detections, 4 fixed, 17 clean" in text
    assert "Per 1h window:" in text and "2025-11-04 21:00:00" in text


def test_parse_time_accepts_iso_like_text():
    assert parse_time("2025-11-04 22:00") == parse_time("2025-11-04T22:00:00")
    assert parse_time("2025-11-04T23:00:00+01:00") == pd.Timestamp("2025-11-04 22:00")
    with pytest.raises(ValueError):
        parse_time("yesterday-ish")


FRAGMENTS = [
    "Feedback from [", "UID ", "42", "]: ", "Score=", "AvgScore=", "ELO=", "Reward=",
    "Observations=", "1,2", "-3.5e-", "nan", ", ", "UNIFORM opacity FIXED: std ", "→", "->",
    "UNIFORM opacity corruption detected: std=", "No opacity corruption detected (", "gaussians)",
    "All ", " gaussians have nearly identical", "New range: [", "New avg: ", "2025-11-04 21:00",
    "2025-13-45T99:99:99", ":07.5", "+01:00", " | ", f"{ESC}[33m", ESC, "\ufffd", "\n",
]


@settings(max_examples=60, deadline=None)  # a property, not a timing: CI machines are shared
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4)).map("".join)))
def test_parse_lines_never_fails(lines):
    tables = parse_lines(lines)
    events = len(tables.feedback) + len(tables.fixer)
    assert events + tables.skipped + tables.duplicates <= len(lines)


# --- command -----------------------------------------------------------------------------


@pytest.fixture
def log_files(tmp_path):
    miner, worker = tmp_path / "miner-out.log", tmp_path / "gen-worker-1-error.log"
    miner.write_text("\n".join(phase3_miner_log()), encoding="utf-8")
    worker.write_text("\n".join(phase3_worker_log()), encoding="utf-8")
    return [str(miner), str(worker)]


def test_logs_report_json(log_files):
    text, code = logs_report(log_files, since="2025-11-04 22:00", as_json=True)
    assert code == 0
    summary = json.loads(text)
    assert (summary["feedback_events"], summary["successes"]) == (10, 5)
    assert summary["success_rate"] == 0.5
    assert summary["success_interval"] == list(wilson_interval(5, 10))
    assert summary["corruption_rate"] is None
    assert {"corruption_detected", "corruption_fixed", "clean"} <= summary.keys()
    assert summary["by_window"][0]["window_start"] == "2025-11-04T22:00:00"


def test_logs_report_text(log_files):
    text, code = logs_report(log_files, since=None, as_json=False)
    assert code == 0
    assert "14/31 = 45.2%" in text
    assert "Per 1h window:" in text


def test_logs_report_missing_file(log_files, tmp_path):
    missing = str(tmp_path / "nope.log")
    text, code = logs_report([*log_files, missing], since=None, as_json=False)
    assert code == 2
    assert "\n" not in text and missing in text


def test_logs_report_bad_since(log_files):
    text, code = logs_report(log_files, since="after lunch", as_json=True)
    assert code == 2
    assert "\n" not in text and "after lunch" in text
