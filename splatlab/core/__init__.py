"""Floor 0, the core: 3DGS field names and activations, the :class:`~splatlab.core.splat.Splat`
value type, and the file formats (PLY, SPZ) with :func:`~splatlab.core.io.load` and
:func:`~splatlab.core.io.save`. Imports nothing else of splatlab.
"""
