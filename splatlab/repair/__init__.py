"""Floor 3, repair: strategies with audit records, judging candidates as the validator
would, audited export.

Example:
    >>> from splatlab import data, repair
    >>> fixed, record = repair.auto(data.trellis_like(opacity=-9.21024))
    >>> [step.strategy for step in record.steps], record.gate_after.passed
    (['undo_double_logit', 'match_distribution'], True)
"""

from .strategies import (
    AUTO_RULES,
    PRIORS,
    STRATEGIES,
    RepairError,
    RepairRecord,
    add_logit_noise,
    auto,
    combine,
    match_distribution,
    nonfinite,
    plan,
    scales,
    undo_double_logit,
    uniform_noise,
)

__all__ = ["AUTO_RULES", "PRIORS", "RepairError", "RepairRecord", "STRATEGIES",
           "add_logit_noise", "auto", "combine", "match_distribution", "nonfinite", "plan",
           "scales", "undo_double_logit", "uniform_noise"]
