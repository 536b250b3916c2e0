"""`Optimizer`: an nnabla solver with weight decay, global-norm gradient clipping,
a learning-rate schedule and solver state that survives re-registration."""

import json
import os
from collections import OrderedDict
from typing import Dict, Optional

import nnabla as nn
import numpy as np

from ..utils.io import atomic_path
from ..utils.registry import ConfigError, accepted_keys, check_kwargs
from .registry import SCHEDULERS, SOLVERS

# Scheduler arguments the optimizer fills in itself when the config omits them.
_AUTO_SCHEDULER_ARGS = ("init_lr", "max_iter")


class Optimizer:
    """Wraps an :mod:`nnabla.solvers` solver.

    Args:
        retain_state: Kept for compatibility; solver state is always retained
            across :meth:`set_parameters` calls.
        weight_decay: L2 weight decay applied before each update (0 = none).
        grad_clip: Clip the global gradient norm of the registered parameters
            to this value before each update (None = no clipping).
        lr_scheduler: Name of an :mod:`nnabla.utils.learning_rate_scheduler`
            class, e.g. ``"CosineScheduler"``; None keeps the learning rate.
        lr_scheduler_args: Arguments of the scheduler; ``init_lr`` defaults to
            ``lr`` and ``max_iter`` to ``max_iter`` below.
        name: Solver name in :mod:`nnabla.solvers` (``Sgd``, ``Momentum``, ``Adam``...).
        max_iter: Total number of updates, for schedulers that need it.
        path: Key path in the config, for error messages.
        **kwargs: Solver arguments (``lr`` or ``alpha`` for Adam, ``momentum``...).

    Raises:
        ConfigError: Unknown solver or scheduler name, or bad arguments.
    """

    def __init__(self, retain_state: bool = False, weight_decay: Optional[float] = None,
                 grad_clip: Optional[float] = None, lr_scheduler: Optional[str] = None,
                 lr_scheduler_args: Optional[dict] = None, name: str = "Sgd",
                 max_iter: int = 1, path: str = "optimizer", **kwargs):
        solver_cls = SOLVERS.get(name, f"{path}.name")
        kwargs = dict(kwargs)
        # nnabla's Adam-family solvers call the learning rate `alpha`, Lamb `eta`.
        solver_keys = accepted_keys(solver_cls)
        if "lr" in kwargs and "lr" not in solver_keys:
            for alias in ("alpha", "eta"):
                if alias in solver_keys:
                    kwargs[alias] = kwargs.pop("lr")
                    break
        check_kwargs(solver_cls, kwargs, path)
        self._solver = solver_cls(**kwargs)
        self.name = name
        self.weight_decay = weight_decay or 0.0
        self.grad_clip = grad_clip
        self._scheduler = None
        if lr_scheduler is not None:
            sched_cls = SCHEDULERS.get(lr_scheduler, f"{path}.lr_scheduler")
            args = dict(lr_scheduler_args or {})
            auto = {"init_lr": self._solver.learning_rate(), "max_iter": max_iter}
            for key in _AUTO_SCHEDULER_ARGS:
                if key in accepted_keys(sched_cls):
                    args.setdefault(key, auto[key])
            check_kwargs(sched_cls, args, f"{path}.lr_scheduler_args")
            self._scheduler = sched_cls(**args)
        self.iteration = 0
        # Every parameter ever registered, the current set (in the caller's order:
        # the nnabla solver keeps its own in a hash-map order that depends on the
        # registration history), and the solver states of the others.
        self._all: "OrderedDict[str, nn.Variable]" = OrderedDict()
        self._params: "OrderedDict[str, nn.Variable]" = OrderedDict()
        self._stash: "OrderedDict[str, object]" = OrderedDict()
        #: The run's process group (a :class:`~nnabla_nas.parallel.Communicator`,
        #: set by the cli): :meth:`update` averages the gradients over its ranks.
        self.comm = None

    # -- parameters ------------------------------------------------------------
    def set_parameters(self, params: Dict[str, nn.Variable], **_ignored) -> None:
        """Makes ``params`` the set of parameters the next update changes.

        Parameters that leave the set keep their solver state (momentum, Adam
        moments and step count), which is restored when they come back, so a
        sampled search that re-registers the active path every step does not
        reset the solver.
        """
        current = self._params
        wanted = OrderedDict(params)
        leaving = [k for k in current if k not in wanted]
        if leaving:
            states = self._solver.get_states()
            for key in leaving:
                self._stash[key] = states[key]
            self._solver.remove_parameters(leaving)
        arriving = OrderedDict((k, v) for k, v in wanted.items() if k not in current)
        if arriving:
            self._solver.set_parameters(arriving, reset=False, retain_state=True)
            back = {k: self._stash.pop(k) for k in arriving if k in self._stash}
            if back:
                self._solver.set_states(back)
        self._all.update(wanted)
        self._params = wanted

    def get_parameters(self) -> Dict[str, nn.Variable]:
        """The parameters the next update changes, in the order they were given."""
        return OrderedDict(self._params)

    # -- updating --------------------------------------------------------------
    def zero_grad(self) -> None:
        """Sets the gradients of the registered parameters to zero."""
        self._solver.zero_grad()

    def learning_rate(self) -> float:
        """The learning rate the next update uses."""
        if self._scheduler is not None:
            return float(self._scheduler.get_learning_rate(self.iteration))
        return float(self._solver.learning_rate())

    def grad_norm(self) -> float:
        """Global L2 norm of the registered parameters' gradients."""
        total = 0.0
        for p in self._params.values():  # a fixed order: the float sum depends on it
            g = p.g.ravel()
            total += float(np.dot(g, g))
        return float(np.sqrt(total))

    def update(self) -> None:
        """Averages the gradients over the ranks (data parallelism), then clips,
        decays, schedules and applies one update."""
        if self.comm is not None and self.comm.size > 1:
            self.comm.allreduce_mean(list(self._params.values()))
        if self.grad_clip is not None:
            norm = self.grad_norm()
            if norm > self.grad_clip:
                self._solver.scale_grad(self.grad_clip / (norm + 1e-12))
        if self.weight_decay:
            self._solver.weight_decay(self.weight_decay)
        self._solver.set_learning_rate(self.learning_rate())
        self._solver.update()
        self.iteration += 1

    # -- state -----------------------------------------------------------------
    def states(self) -> "OrderedDict[str, object]":
        """The solver state (an ``nnabla.solver.SolverState``: step counter ``t``
        and buffers ``pstate``) of every parameter ever registered, by name."""
        active = self._solver.get_states()
        return OrderedDict((k, active[k] if k in self._params else self._stash[k])
                           for k in self._all)

    def save(self, path: str) -> None:
        """Writes :meth:`states` to ``path`` (``.h5``), atomically.

        The layout is nnabla's ``save_states`` one (``<name>/t``,
        ``<name>/<buffer>``), plus the order of the registered, current and
        stashed parameters as file attributes, so :meth:`load` rebuilds this
        optimizer exactly.
        """
        import h5py
        with atomic_path(path) as tmp:
            with h5py.File(tmp, "w") as f:
                for key, state in self.states().items():
                    f[f"{key}/t"] = np.uint32(state.t)
                    for name, var in state.pstate.items():
                        f[f"{key}/{name}"] = var.d
                for name, keys in (("registered", self._all), ("active", self._params),
                                   ("stashed", self._stash)):
                    f.attrs[name] = json.dumps(list(keys))

    def load(self, path: str, iteration: int) -> None:
        """Restores the states written by :meth:`save` (or by nnabla's
        ``save_states``) and the iteration counter.

        Every parameter of the file must have been registered with
        :meth:`set_parameters` before; registered parameters the file does not
        hold were never registered in the saved run and are dropped.

        Each state is read by its exact name: nnabla's ``load_states`` gives a
        parameter whose name is a prefix of another's (``alpha/1`` of
        ``alpha/10``) the other's buffers.

        Raises:
            FileNotFoundError: If ``path`` does not exist.
            ValueError: If the file holds a parameter that is not registered.
        """
        import h5py
        if not os.path.isfile(path):
            raise FileNotFoundError(f"solver state file '{path}' does not exist")
        with h5py.File(path, "r") as f:
            if "registered" in f.attrs:
                order = {k: json.loads(f.attrs[k]) for k in ("registered", "active", "stashed")}
            else:  # written by nnabla's save_states: the file's names, all current
                names = []
                f.visititems(lambda name, obj: names.append(name[:-2])
                             if isinstance(obj, h5py.Dataset) and name.endswith("/t") else None)
                order = {"registered": names, "active": names, "stashed": []}
            unknown = [k for k in order["registered"] if k not in self._all]
            if unknown:
                raise ValueError(f"solver state file '{path}' holds parameters this optimizer "
                                 f"does not have: {', '.join(unknown[:5])}")
            params = OrderedDict((k, self._all[k]) for k in order["registered"])
            self._solver.remove_parameters(list(self._params))
            self._solver.set_parameters(params, reset=False, retain_state=True)
            states = self._solver.get_states()
            for key, state in states.items():
                group = f[key]
                state.t = int(group["t"][()])
                for name, var in state.pstate.items():
                    var.d = group[name][...]
            self._solver.set_states(states)
        self._all, self._params, self._stash = params, OrderedDict(params), OrderedDict()
        self.set_parameters(OrderedDict((k, params[k]) for k in order["active"]))
        self._stash = OrderedDict((k, self._stash[k]) for k in order["stashed"])
        self.iteration = int(iteration)

    def __repr__(self) -> str:
        return (f"Optimizer(name={self.name}, lr={self.learning_rate():g}, "
                f"weight_decay={self.weight_decay}, grad_clip={self.grad_clip})")


def check_optimizer_config(options: dict, path: str) -> None:
    """Validates one optimizer section without building it.

    Raises:
        ConfigError: With the key path, for any bad name or argument.
    """
    if not isinstance(options, dict):
        raise ConfigError(f"{path}: expected an object, got {options!r}")
    Optimizer(**dict(options), path=path)
