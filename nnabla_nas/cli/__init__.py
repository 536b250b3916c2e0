"""The composition root: the ``nnabla-nas`` command.

The only package that knows every other one: it parses the command line
(:mod:`.args`), validates a config (:mod:`.config`), builds data, model,
optimizers and runner through the registries (:mod:`.build`) and runs it
(:mod:`.main`).
"""

from .main import main, run

__all__ = ["main", "run"]
