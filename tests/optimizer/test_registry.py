"""Every registered solver and scheduler works through `Optimizer` (a solver or
scheduler added to the registry is tested the moment it is registered)."""

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.optimizer import Optimizer
from nnabla_nas.optimizer.registry import SCHEDULERS, SOLVERS

SCHEDULER_ARGS = {"ExponentialScheduler": {"gamma": 0.5},
                  "PolynomialScheduler": {"power": 2.0},
                  "StepScheduler": {"gamma": 0.5, "iter_steps": [2]}}


@pytest.mark.parametrize("name", SOLVERS.names())
def test_every_solver_descends(name):
    w = nn.Variable.from_numpy_array(np.array([1.0, -2.0], dtype=np.float32))
    w.need_grad = True
    opt = Optimizer(name=name, lr=0.01)
    opt.set_parameters({"w": w})
    before = float(np.sum(w.d ** 2))
    for _ in range(3):
        opt.zero_grad()
        w.g = 2 * w.d  # gradient of sum(w^2)
        opt.update()
    assert float(np.sum(w.d ** 2)) < before, name


@pytest.mark.parametrize("name", SCHEDULERS.names())
def test_every_scheduler_schedules(name):
    opt = Optimizer(name="Sgd", lr=0.1, lr_scheduler=name, max_iter=8,
                    lr_scheduler_args=SCHEDULER_ARGS.get(name, {}))
    rates = []
    w = nn.Variable.from_numpy_array(np.ones(2, dtype=np.float32))
    w.need_grad = True
    opt.set_parameters({"w": w})
    for _ in range(6):
        rates.append(opt.learning_rate())
        opt.zero_grad()
        opt.update()
    assert len(set(np.round(rates, 9))) > 1, rates
    assert rates[0] == pytest.approx(0.1) and all(r <= 0.1 + 1e-6 for r in rates)
