"""Floor 2, analysis: statistics, diagnosis, differences, the validator's gate, scans, logs.

The verbs live in modules named for what they compute (``stats`` in
:mod:`~splatlab.analysis.statistics`, ``diagnose`` in :mod:`~splatlab.analysis.diagnosis`,
``diff`` in :mod:`~splatlab.analysis.differences`, ``gate`` in
:mod:`~splatlab.analysis.gates`, ``scan`` in :mod:`~splatlab.analysis.scanning`). Imports
:mod:`splatlab.core` and :mod:`splatlab.world`; never rendering or anything above.
"""
