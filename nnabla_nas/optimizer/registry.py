"""Registries of nnabla solvers and learning-rate schedulers, by name."""

import inspect

import nnabla.solvers as S
import nnabla.utils.learning_rate_scheduler as L

from ..utils.registry import Registry

SOLVERS = Registry("solver")
for _name, _obj in sorted(vars(S).items()):
    if callable(_obj) and _name[:1].isupper() and _name not in ("Solver", "SolverState",
                                                               "OrderedDict"):
        SOLVERS.register(_name)(_obj)

SCHEDULERS = Registry("lr_scheduler")
for _name, _obj in sorted(vars(L).items()):
    if (inspect.isclass(_obj) and issubclass(_obj, L.BaseLearningRateScheduler)
            and _obj is not L.BaseLearningRateScheduler):
        SCHEDULERS.register(_name)(_obj)
