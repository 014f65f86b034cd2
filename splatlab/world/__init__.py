"""Floor 1, models of the world: one module for each program a file meets.

* :mod:`~splatlab.world.sn17`: the subnet-17 validator (gate thresholds, loader,
  normalisation, render rig);
* :mod:`~splatlab.world.submission`: its SPZ submission path (pyspz compress/decompress);
* :mod:`~splatlab.world.miner`: the miner's double-logit load chain;
* :mod:`~splatlab.world.synth`: synthetic files to TRELLIS's and INRIA's specifications.

Imports only :mod:`splatlab.core`.
"""
