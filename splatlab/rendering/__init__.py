"""Floor 2, rendering: cameras, the pure-PyTorch rasteriser (with gsplat where present),
coverage, GPU timing. Imports :mod:`splatlab.core` and :mod:`splatlab.world`; never analysis.
"""
