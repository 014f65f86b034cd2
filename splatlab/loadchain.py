"""The load chains of the incident in one place: what each program makes of a file.

A facade over the models of the world (:mod:`splatlab.world`), for notebooks and scripts:

* the miner's double logit (:mod:`splatlab.world.miner`): :func:`miner_double_logit`;
* the SPZ submission path between miner and validator (:mod:`splatlab.world.submission`):
  :func:`submission_problems`, :func:`spz_roundtrip`;
* the subnet-17 validator's loader and pre-render normalisation
  (:mod:`splatlab.world.sn17`): :func:`validator_load`, :func:`validator`.

Example:
    >>> from splatlab import data
    >>> submitted = miner_double_logit(data.trellis_like())     # the miner's re-save
    >>> received = spz_roundtrip(submitted)                     # what the validator decodes
    >>> submission_problems(submitted), received.provenance.format.label
    ([], 'SPZ v2 (zstd), quantised')
"""

from __future__ import annotations

from .world.miner import (
    CLAMP_1E3,
    CLAMP_1E4,
    LOGIT_1E3,
    LOGIT_1E3_HIGH,
    LOGIT_1E4,
    LOGIT_1E4_HIGH,
    SPIKES,
    double_logit,
    float32_logit,
    miner_double_logit,
)
from .world.sn17 import ValidatorData, float32_sigmoid, validator, validator_load
from .world.submission import SubmissionRefused, spz_roundtrip, submission_problems

__all__ = [
    "CLAMP_1E3", "CLAMP_1E4", "LOGIT_1E3", "LOGIT_1E3_HIGH", "LOGIT_1E4", "LOGIT_1E4_HIGH",
    "SPIKES", "SubmissionRefused", "ValidatorData", "double_logit", "float32_logit",
    "float32_sigmoid", "miner_double_logit", "spz_roundtrip", "submission_problems",
    "validator", "validator_load",
]
