"""Registries of the nnabla solvers and learning-rate schedulers a config may name."""

import nnabla.solvers as S
import nnabla.utils.learning_rate_scheduler as L

from ..utils.registry import Registry

#: The solvers of :mod:`nnabla.solvers` (nnabla 1.33 to 1.39).
SOLVERS = Registry("solver", {
    "AMSBound": S.AMSBound, "AMSGRAD": S.AMSGRAD, "AdaBelief": S.AdaBelief,
    "AdaBound": S.AdaBound, "Adadelta": S.Adadelta, "Adagrad": S.Adagrad, "Adam": S.Adam,
    "AdamW": S.AdamW, "Adamax": S.Adamax, "Lamb": S.Lamb, "Lars": S.Lars,
    "Momentum": S.Momentum, "Nesterov": S.Nesterov, "RMSprop": S.RMSprop,
    "RMSpropGraves": S.RMSpropGraves, "Sgd": S.Sgd, "SgdW": S.SgdW,
})
if hasattr(S, "Lion"):  # (nnabla 1.36 and later)
    SOLVERS.register("Lion")(S.Lion)

#: The schedulers of :mod:`nnabla.utils.learning_rate_scheduler` a config can name
#: (``LinearWarmupScheduler`` wraps a scheduler object, which JSON cannot give).
SCHEDULERS = Registry("lr_scheduler", {
    "CosineScheduler": L.CosineScheduler, "ExponentialScheduler": L.ExponentialScheduler,
    "PolynomialScheduler": L.PolynomialScheduler, "StepScheduler": L.StepScheduler,
})
