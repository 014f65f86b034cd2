"""Sub-commands of ``splatlab``: each module defines ``register(subparsers)``.

A module's ``register`` adds its parser and sets ``run`` to a function taking the
parsed arguments and returning the exit status.
"""
