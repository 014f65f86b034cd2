"""Floor 5, the Phase-3 opacity incident: its data set, both hypotheses, the evidence.

See :mod:`splatlab.incident.reproduction`; everything public is here too.
"""

from .reproduction import (
    CEILING,
    FLOOR,
    MANIFEST_COLUMNS,
    MIN_SCALED_COUNT,
    PRINTED_DECIMALS,
    RATIO_THRESHOLD,
    REPORTED,
    RunResult,
    build,
    crosstab,
    documented,
    evidence,
    generation,
    h1_opacity,
    h1_world_contrast,
    h2_opacity,
    h2_shares,
    manifest,
    matches,
    planned_bytes,
    rates,
    raw_scales,
    reading,
    reproduce,
    run,
    scaled_count,
    two_point_std,
    verdicts,
)

__all__ = ["CEILING", "FLOOR", "MANIFEST_COLUMNS", "MIN_SCALED_COUNT", "PRINTED_DECIMALS",
           "RATIO_THRESHOLD", "REPORTED", "RunResult", "build", "crosstab", "documented",
           "evidence",
           "generation", "h1_opacity", "h1_world_contrast", "h2_opacity", "h2_shares", "manifest",
           "matches", "planned_bytes", "raw_scales", "rates", "reading", "reproduce", "run",
           "scaled_count", "two_point_std", "verdicts"]
