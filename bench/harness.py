"""The measuring half of ``bench/compare.py``: runs one task in this process, prints its figures.

Both worker scripts import this module: ``old_nas.py`` under ``bench/.old-venv``
(NNablaNAS 0.9.0) and ``ours_nas.py`` under the project's ``.venv``. It needs only
the standard library, numpy and nnabla, so it imports under either. A worker
hands :func:`main` a :class:`Driver` that builds its own package's objects; the
timing, the nnabla-call clock and the output format are here, once, so both
packages are measured by the same code.

Tasks (one per process, so ``ru_maxrss`` is the task's own peak):

* ``darts-step`` / ``pnas-step``: one search step (weight update + architecture
  update) of the small network, ``--steps`` timed steps after one warm-up step.
* ``graph``: building the graph of one sampled path of the ProxylessNAS
  network, ``model(x)`` plus the loss, without a forward pass; ``10 x --steps``
  builds, each of a newly drawn path.
* ``darts-memory`` / ``pnas-memory``: one step of the large network, no
  warm-up; the figure is the peak RSS.
* ``darts-overhead`` / ``pnas-overhead``: as the step tasks with nnabla's
  compute calls timed (:class:`NnablaClock`); the figure is the share of each
  step spent outside them.

The last line of stdout is ``RESULT <json>``.
"""

import argparse
import atexit
import ctypes
import gc
import json
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List

import nnabla as nn
import numpy as np
from nnabla.solver import Solver

Step = Callable[[], None]

#: Network sizes: ``small`` for the step, graph and overhead tasks, ``large`` for memory.
SIZES = {
    "small": dict(init_channels=8, num_cells=5, batch_size=8),
    "large": dict(init_channels=16, num_cells=8, batch_size=16),
}
IN_CHANNELS, IMAGE_SIZE, NUM_CLASSES = 3, 32, 10
#: Architectures sampled per ProxylessNAS architecture update (the old package's fixed value).
N_ITER = 10
#: The optimizer settings of NNablaNAS's example CIFAR-10 search configs, without the
#: learning-rate schedule; both packages' ``Optimizer`` take these keyword arguments.
OPTIMIZERS = {
    "darts": {
        "train": dict(name="Momentum", lr=0.025, momentum=0.9, weight_decay=3e-4, grad_clip=5.0),
        "valid": dict(name="Adam", alpha=3e-4, beta1=0.5, beta2=0.999, weight_decay=1e-3,
                      grad_clip=5.0),
    },
    "pnas": {
        "train": dict(name="Momentum", lr=0.025, momentum=0.9, weight_decay=3e-4, grad_clip=5.0),
        "valid": dict(name="Adam", alpha=0.01, beta1=0.5, beta2=0.999, grad_clip=5.0),
    },
}
#: Graph builds per ``--steps`` in the ``graph`` task: every build draws a new path, and
#: paths differ in cost (a separable convolution is several functions, a pooling one).
GRAPH_BUILDS_PER_STEP = 10
TASKS = ("darts-step", "pnas-step", "graph", "darts-memory", "pnas-memory",
         "darts-overhead", "pnas-overhead")


def random_images(count: int, seed: int = 0):
    """``count`` random uint8 images ``(N, 32, 32, 3)`` and labels in ``0..9``."""
    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, (count, IMAGE_SIZE, IMAGE_SIZE, IN_CHANNELS)).astype(np.uint8)
    return images, rng.randint(0, NUM_CLASSES, count)


class Driver:
    """What a worker provides: its package's objects, built from the sizes above.

    Attributes:
        package: Version of the package driven, e.g. ``0.9.0``.
        source: Where it was imported from (its ``__init__.py``).
    """

    package = "?"
    source = "?"

    def darts_step(self, init_channels: int, num_cells: int, batch_size: int) -> Step:
        """A DARTS searcher over the shared-alpha ``full``-mode network; returns its step."""
        raise NotImplementedError

    def pnas_step(self, init_channels: int, num_cells: int, batch_size: int) -> Step:
        """A ProxylessNAS searcher over the unshared ``sample``-mode network; returns its step."""
        raise NotImplementedError

    def sampled_graph(self, init_channels: int, num_cells: int, batch_size: int) -> Step:
        """The ``sample``-mode network; returns a callable that builds one sampled
        path's graph (``model(x)`` and the loss on fresh placeholders)."""
        raise NotImplementedError


class NnablaClock:
    """Seconds spent inside nnabla's compute calls while installed.

    Times ``Variable.forward``, ``Variable.backward``, ``nnabla.forward_all`` and
    the solver's ``update``, ``weight_decay``, ``zero_grad``, ``clip_grad_by_norm``
    and ``scale_grad``. Everything else in a step (graph building, parameter
    bookkeeping, ``set_parameters``, numpy work, copies through ``.d``/``.g``) is
    the library's overhead. nnabla's classes are immutable extension types, so
    the wrappers are put into their type dictionaries directly; nested calls are
    counted once.
    """

    VARIABLE = ("forward", "backward")
    SOLVER = ("update", "weight_decay", "zero_grad", "clip_grad_by_norm", "scale_grad")

    def __init__(self):
        self.seconds = 0.0
        self.calls = 0
        self._depth = 0
        self._saved: List[tuple] = []

    def _wrap(self, func: Callable) -> Callable:
        def timed(*args, **kwargs):
            if self._depth:
                return func(*args, **kwargs)
            self._depth += 1
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1
                self._depth -= 1
        return timed

    def _replace(self, owner, name: str) -> None:
        if isinstance(owner, type):
            namespace = gc.get_referents(owner.__dict__)[0]  # the type's real dict
            self._saved.append((owner, name, namespace[name]))
            namespace[name] = self._wrap(namespace[name])
            ctypes.pythonapi.PyType_Modified(ctypes.py_object(owner))
        else:
            self._saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, self._wrap(getattr(owner, name)))

    def install(self) -> "NnablaClock":
        for name in self.VARIABLE:
            self._replace(nn.Variable, name)
        for name in self.SOLVER:
            self._replace(Solver, name)
        self._replace(nn, "forward_all")
        return self

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._saved):
            if isinstance(owner, type):
                gc.get_referents(owner.__dict__)[0][name] = original
                ctypes.pythonapi.PyType_Modified(ctypes.py_object(owner))
            else:
                setattr(owner, name, original)
        self._saved.clear()


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def spread(values: List[float]) -> Dict[str, object]:
    """Median, min, max and the raw values."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "values": values}


def time_calls(call: Step, repeats: int, profile: str = "") -> List[float]:
    """Wall seconds of ``repeats`` calls of ``call`` after one warm-up call; with
    ``profile``, the timed calls run under cProfile and its stats go to that file."""
    call()
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    times = [_timed(call) for _ in range(repeats)]
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    return times


def _timed(call: Step) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def run_task(driver: Driver, task: str, steps: int, profile: str = "") -> Dict[str, object]:
    """Runs ``task`` with ``driver``; returns its figures (see the module docstring)."""
    algorithm = task.split("-")[0]
    if task == "graph":
        build = driver.sampled_graph(**SIZES["small"])
        times = time_calls(build, steps * GRAPH_BUILDS_PER_STEP)
        return {"unit": "ms", **spread([t * 1e3 for t in times])}
    if task.endswith("-memory"):
        step = getattr(driver, f"{algorithm}_step")(**SIZES["large"])
        before = peak_rss_mb()
        start = time.perf_counter()
        step()
        seconds = time.perf_counter() - start
        peak = peak_rss_mb()
        return {"unit": "MiB", "median": peak, "min": peak, "max": peak, "values": [peak],
                "before_step_mb": before, "step_increase_mb": peak - before,
                "step_seconds": seconds}
    step = getattr(driver, f"{algorithm}_step")(**SIZES["small"])
    if task.endswith("-step"):
        return {"unit": "s", **spread(time_calls(step, steps, profile))}
    # -overhead: the share of each step outside nnabla's compute calls.
    clock = NnablaClock().install()
    try:
        step()
        shares, times, inside = [], [], []
        for _ in range(steps):
            before = clock.seconds
            seconds = _timed(step)
            nnabla_seconds = clock.seconds - before
            times.append(seconds)
            inside.append(nnabla_seconds)
            shares.append(100.0 * (seconds - nnabla_seconds) / seconds)
    finally:
        clock.uninstall()
    return {"unit": "%", **spread(shares), "step_seconds": times, "nnabla_seconds": inside}


def main(driver: Driver, argv=None) -> None:
    """Command line of a worker: ``--task NAME [--steps N] [--seed S] [--profile FILE]``."""
    parser = argparse.ArgumentParser(description="Runs one benchmark task of bench/compare.py.")
    parser.add_argument("--task", choices=TASKS, required=True)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--profile", default="", help="cProfile output file (step tasks)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of numpy's and nnabla's random states (the paths drawn)")
    args = parser.parse_args(argv)
    np.random.seed(args.seed)
    nn.random.seed(args.seed)
    nn.set_default_context(nn.Context(["cpu:float"], "0"))
    result = run_task(driver, args.task, args.steps, args.profile)
    result.update(task=args.task, steps=args.steps, seed=args.seed, peak_rss_mb=peak_rss_mb(),
                  package=driver.package, source=driver.source, nnabla=nn.__version__,
                  python=platform.python_version(), executable=sys.executable)
    sys.stdout.flush()
    print("RESULT " + json.dumps(result), flush=True)


def scratch_folder() -> str:
    """A temporary folder, removed at exit, for the files a runner insists on writing."""
    folder = tempfile.mkdtemp(prefix="nas-bench-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
