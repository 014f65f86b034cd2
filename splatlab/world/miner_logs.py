"""Log lines as the miner and its generation worker write them (loguru, pm2), and the
Phase-3 hour the write-up's numbers come from, built line by line.

``splatlab logs`` (:mod:`splatlab.analysis.logs`) reads such logs; the sample logs of
:mod:`splatlab.data` and the tests are made here, so that parser and samples share one
description of the format.

Example:
    >>> lines = phase3_miner_log()
    >>> len(lines), "Feedback from [27]" in lines[0]
    (31, True)
"""

from __future__ import annotations

from datetime import datetime, timedelta

ESC = "\x1b"
PHASE3_START = datetime(2025, 11, 4, 21, 0, 0)
"""When the Phase-3 window of the samples opens."""
FEEDBACK_FIELDS = "Score=1, AvgScore=0.5, ELO=1200, Reward=0.1, Observations=9"
"""The fields of a validator's feedback line after its uid."""
UNIFORM_GENERATIONS = (0, 10, 17, 18)
"""The generations of :func:`phase3_worker_log` whose opacities are uniform: 4 of 21."""


def loguru_line(when: datetime, level: str, message: str) -> str:
    """A coloured loguru line, as the miner and the worker write them.

    Example:
        >>> line = loguru_line(PHASE3_START, "INFO", "hello")
        >>> line.startswith(ESC + "[32m2025-11-04 21:00:00.000"), line.count(ESC)
        (True, 9)
    """
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return (
        f"{ESC}[32m{stamp}{ESC}[0m | {ESC}[1m{ESC}[33m{level:<8}{ESC}[0m | "
        f"{ESC}[36mdiagnostics.ply_fixer{ESC}[0m:fix:52 - {ESC}[1m{message}{ESC}[0m"
    )


def pm2_line(when: datetime, message: str) -> str:
    """A line as pm2 prefixes a process's output.

    Example:
        >>> pm2_line(PHASE3_START, "x")
        '0|gen-wor | 2025-11-04T21:00:00: x'
    """
    return f"0|gen-wor | {when:%Y-%m-%dT%H:%M:%S}: {message}"


def feedback_message(uid: int, score: float) -> str:
    """A validator's feedback as the miner logs it.

    Example:
        >>> feedback_message(49, 0.71)[:40]
        'Feedback from [49]: Score=0.71, AvgScore'
    """
    return f"Feedback from [{uid}]: " + FEEDBACK_FIELDS.replace("Score=1", f"Score={score}", 1)


def detection_block(when: datetime, std: float = 0.003) -> list[str]:
    """The opacity fixer's seven lines for one uniform-opacity detection, as in the write-up.

    Example:
        >>> len(detection_block(PHASE3_START))
        7
    """
    return [
        loguru_line(when, "WARNING", f"âš ï¸  UNIFORM opacity corruption detected: std={std:.3f}"),
        loguru_line(when, "WARNING", "   All 489,088 gaussians have nearly identical opacity"),
        loguru_line(when, "WARNING", "   avg_opacity: -9.210, This creates invisible models!"),
        loguru_line(when, "INFO", "   🔧 Adding Gaussian noise to restore opacity variation..."),
        loguru_line(when, "INFO", f"✅ UNIFORM opacity FIXED: std {std:.3f} → 2.047"),
        loguru_line(when, "INFO", "   New range: [-13.157, -5.263]"),
        loguru_line(when, "INFO", "   New avg: -9.208"),
    ]


def phase3_miner_log() -> list[str]:
    """31 feedback lines: 21 in the 21h (9 successes), 10 in the 22h (5 successes).

    Validator 27 never accepts, 142 accepts its first two, 49 always accepts.
    """
    lines = []
    for i in range(21):
        uid = (27, 142, 49)[i % 3]
        accepted = uid == 49 or (uid == 142 and i < 6)
        when = PHASE3_START + timedelta(minutes=2 * i)
        lines.append(loguru_line(when, "INFO", feedback_message(uid, 0.71 if accepted else 0.0)))
    for i in range(10):
        uid = (49, 27)[i % 2]
        when = PHASE3_START + timedelta(hours=1, minutes=2 * i)
        lines.append(loguru_line(when, "INFO", feedback_message(uid, 0.65 if uid == 49 else 0.0)))
    return lines


def phase3_worker_log() -> list[str]:
    """21 generations from 21:00, four of them (:data:`UNIFORM_GENERATIONS`) uniform.

    Example:
        >>> sum("UNIFORM opacity FIXED" in line for line in phase3_worker_log())
        4
    """
    lines = []
    for i in range(21):
        when = PHASE3_START + timedelta(minutes=2 * i)
        if i in UNIFORM_GENERATIONS:
            lines += detection_block(when)
        else:
            clean = f"No opacity corruption detected ({354_400 + i:,} gaussians)"
            lines.append(loguru_line(when, "INFO", clean))
        lines.append(loguru_line(when, "INFO", "Generation finished, submitting"))
    return lines


__all__ = ["FEEDBACK_FIELDS", "PHASE3_START", "UNIFORM_GENERATIONS", "detection_block",
           "feedback_message", "loguru_line", "phase3_miner_log", "phase3_worker_log",
           "pm2_line"]
