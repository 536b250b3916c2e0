"""`Runner`: the base of the searchers and the trainer.

It owns what every algorithm shares: the epoch loop (resume, progress bar,
per-epoch reporting, checkpoints), building (and caching) graphs, one
gradient-accumulating step and evaluation. The algorithms in ``searcher/``
and ``trainer/`` write only their per-batch steps and what an epoch reports.
"""

import contextlib
import json
import os
import signal
import time
from functools import cached_property
from typing import Callable, Dict, Iterable, List, Optional

import nnabla as nn
import numpy as np

from ..optimizer import Optimizer
from ..parallel import Communicator, SingleProcess
from ..utils.io import remove_stale_temporaries, write_text_atomic
from ..utils.registry import accepted_keys
from ..utils.reporter import Reporter, SilentReporter
from . import checkpoint
from .graph import Graph, build_graph
from .hparams import Hparams


class NonFiniteError(RuntimeError):
    """A loss or architecture weight became NaN or infinite."""


class Interrupted(Exception):
    """A stop signal arrived; the run wrote a checkpoint after the current step.

    Attributes:
        signum: The signal number (``SIGINT``, ``SIGTERM``).
    """

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum = signum


class Meter:
    """Running mean of (loss, error) pairs."""

    def __init__(self):
        self.values: List[tuple] = []

    def add(self, loss: float, error: float) -> None:
        self.values.append((loss, error))

    def mean(self) -> Dict[str, float]:
        if not self.values:
            return {"loss": float("nan"), "error": float("nan")}
        loss, error = np.mean(self.values, axis=0)
        return {"loss": float(loss), "error": float(error)}

    def __bool__(self) -> bool:
        return bool(self.values)


@contextlib.contextmanager
def frozen(params: Iterable[nn.Variable]):
    """Sets ``need_grad=False`` on ``params`` inside the block, then restores it.

    nnabla decides at backward time which gradients to compute, so freezing
    parameters of an already built graph skips their gradient computation.
    """
    params = list(params)
    flags = [p.need_grad for p in params]
    for p in params:
        p.need_grad = False
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.need_grad = flag


def _rng_vector(rng: np.random.RandomState) -> np.ndarray:
    """A random state as 627 float64s: 624 keys, position, has_gauss, gauss."""
    _, keys, pos, has_gauss, gauss = rng.get_state()
    return np.concatenate([keys.astype(np.float64), [pos, has_gauss, gauss]])


def steps_per_epoch(size: int, batch_size: int) -> int:
    """Updates per epoch so that each of ``size`` samples is used once."""
    return max(1, -(-size // batch_size))


class Runner:
    """Base class of :class:`Searcher` and :class:`Trainer`.

    :meth:`run` is the epoch loop every algorithm shares: it resumes from the
    output folder's checkpoint, runs :meth:`train_step` once per step with a
    progress bar, and ends each epoch with :meth:`end_epoch` (the algorithm's
    report), the learning curves and a checkpoint; then :meth:`finish`.
    Subclasses implement :meth:`train_step`, :meth:`end_epoch` and
    :meth:`finish`, and may override :meth:`begin_epoch` and
    :attr:`total_epochs`.

    Args:
        model: A :class:`~nnabla_nas.contrib.model.Model`.
        optimizer: Name (``train``, ``valid``, ``warmup``) -> :class:`Optimizer`.
        dataloader: Split name (``train``, ``valid``, ``test``) -> data loader
            with ``next()``, ``epoch()``, ``__len__``, ``size``.
        args: The run's :class:`Hparams` (``output_path`` must be set).
        comm: The process group of a data-parallel run
            (:class:`~nnabla_nas.parallel.Communicator`; default one process).
            Evaluations and epoch figures are reduced over its ranks, stop
            requests are agreed on, and only its main rank writes files.
    """

    #: Rebuild graphs every step (sampled paths) instead of caching them.
    dynamic_graph = False
    #: Whether training graphs recompute cheap activations when
    #: ``hparams.recompute`` is None (see :func:`~.graph.mark_recompute`).
    recompute_default = False

    def __init__(self, model, optimizer: Dict[str, Optimizer], dataloader: Dict[str, object],
                 args: Hparams, comm: Optional[Communicator] = None):
        self.comm = comm if comm is not None else SingleProcess()
        self.model = model
        self.optimizer = optimizer
        self.dataloader = dataloader
        self.args = args
        self.output_path = args.output_path
        self._reporter: Optional[Reporter] = None
        self.input_shape = tuple(args.input_shapes[0]) if args.input_shapes else \
            tuple(dataloader["train"].shape)
        self.epoch = 0  # epochs completed
        self._graphs: Dict[tuple, Graph] = {}
        self._stop_signal: Optional[int] = None
        #: Called as ``hook(runner, summary)`` after :meth:`finish`: what the
        #: composition root adds (the Trainer's ``model.nnp``, for one).
        self.end_hooks: List[Callable[["Runner", dict], None]] = []
        self.new_epoch()

    @classmethod
    def options(cls) -> Dict[str, object]:
        """The algorithm's own constructor arguments (beyond :class:`Runner`'s),
        name -> default: the config gives them in its ``hparams`` section
        (``regularizer`` comes from ``optimizer.regularizer``)."""
        base = accepted_keys(Runner)
        return {k: p.default for k, p in accepted_keys(cls).items() if k not in base}

    @classmethod
    def check_options(cls, options: Dict[str, object], path: str = "hparams") -> None:
        """Range checks of :meth:`options` values beyond their types (none by
        default); raises :class:`~nnabla_nas.utils.registry.ConfigError`."""

    # -- the epoch loop ----------------------------------------------------------
    @property
    def total_epochs(self) -> int:
        """Epochs of the whole run."""
        return self.args.epoch

    def run(self) -> Dict[str, object]:
        """Runs (or resumes) the algorithm; returns the summary of :meth:`finish`."""
        total = self.total_epochs
        if self.resume():
            self.reporter.info(f"resuming from {self.output_path} after epoch "
                               f"{self.epoch}/{total}" +
                               (f", step {self.step}" if self.step else ""))
        if self.epoch >= total:
            # A kill between the last checkpoint and the final files leaves them
            # missing: finish() writes them again from the checkpointed state.
            self.reporter.info(f"this run finished already ({total} epochs in "
                               f"{self.output_path}); writing its final files")
            self.comm.barrier()
            return self._finish()
        self.synchronize_start()
        self.reporter.truncate_metrics(self.epoch + 1)
        self.reporter.info(f"{type(self).__name__}: {self.model.summary()}")
        steps = self.steps_per_epoch()
        for epoch in range(self.epoch, total):
            phase = self.begin_epoch(epoch)
            started = time.time() - self.seconds
            bar = self.reporter.progress(steps, f"{phase} {epoch + 1}/{total}")
            bar.update(self.step)
            for step in range(self.step, steps):
                self.train_step(phase)
                bar.update()
                if (step + 1) % self.args.print_frequency == 0 or step + 1 == steps:
                    bar.set_postfix(self.postfix())
                self.after_step(step + 1, time.time() - started)
            bar.close()
            self.end_epoch(phase, started)
            self.reporter.draw_curves()
            self.new_epoch()
            self.save_checkpoint()
        self.comm.barrier()  # rank 0's files are complete before any rank reads them
        return self._finish()

    def _finish(self) -> Dict[str, object]:
        summary = self.finish()
        for hook in self.end_hooks:
            hook(self, summary)
        return summary

    def synchronize_start(self) -> None:
        """Data parallelism: every rank starts (or resumes) from rank 0's
        parameters and random states (numpy's and the modules', e.g. the
        MixedOps' samplers), so the ranks stay identical even when the caller
        seeded them differently."""
        if self.comm.size == 1:
            return
        self.comm.broadcast(list(self.model.get_parameters().values()))
        rngs = [np.random.mtrand._rand] + [
            m.rng for _, m in self.model.get_modules()
            if isinstance(getattr(m, "rng", None), np.random.RandomState)]
        # Broadcast as a sum with zeros elsewhere: float64 holds the uint32 keys exactly.
        mine = np.concatenate([_rng_vector(r) for r in rngs]) * float(self.comm.is_main)
        states = self.comm.allreduce_sum(mine).reshape(len(rngs), -1)
        for rng, state in zip(rngs, states):
            rng.set_state(("MT19937", state[:624].astype(np.uint32), int(state[624]),
                           int(state[625]), float(state[626])))

    def begin_epoch(self, epoch: int) -> str:
        """Prepares epoch ``epoch`` (0-based); returns its phase name."""
        return "train"

    def train_step(self, phase: str) -> None:
        """One step of ``phase``: the algorithm's updates on the next batch(es),
        recorded in :attr:`meters`."""
        raise NotImplementedError

    def end_epoch(self, phase: str, started: float) -> None:
        """Counts the epoch done (:attr:`epoch`) and reports it; ``started`` is
        its start time (:func:`time.time`, resumed steps included)."""
        raise NotImplementedError

    def finish(self) -> Dict[str, object]:
        """Writes the run's final files; returns its summary."""
        raise NotImplementedError

    def postfix(self) -> Dict[str, str]:
        """The progress bar's running figures."""
        train, valid = self.meters["train"].mean(), self.meters["valid"]
        post = {"loss": f"{train['loss']:.3f}", "err": f"{train['error']:.3f}"}
        if valid:
            post["arch_err"] = f"{valid.mean()['error']:.3f}"
        return post

    # -- progress inside an epoch -----------------------------------------------
    def new_epoch(self) -> None:
        """Resets the position inside the epoch (step, meters, elapsed seconds)."""
        self.step = 0
        self.seconds = 0.0
        self.meters = {"train": Meter(), "valid": Meter()}

    def request_stop(self, signum: int) -> None:
        """Asks the loop to stop after the current step (a signal handler calls it).

        A second request while the first is pending stops at once, keeping the
        last checkpoint.
        """
        if self._stop_signal is not None:
            stop = KeyboardInterrupt()
            stop.signum = signum
            raise stop
        self._stop_signal = signum

    def after_step(self, step: int, seconds: float) -> None:
        """Records the position; on a stop request pending on any rank, every
        rank stops after this same step: checkpoints and raises :class:`Interrupted`."""
        self.step, self.seconds = step, seconds
        if self.comm.any_flag(self._stop_signal is not None):
            signum = self._stop_signal or signal.SIGTERM  # a rank the signal missed
            self.save_checkpoint()
            raise Interrupted(signum, f"stopped in epoch {self.epoch + 1} after step {step}; "
                                      f"checkpoint written in {self.output_path}")

    @property
    def reporter(self) -> Reporter:
        """The run's reporter; creates the output folder on first use (on rank 0:
        the other ranks of a data-parallel run get a :class:`SilentReporter`)."""
        if self._reporter is None and not self.comm.is_main:
            self._reporter = SilentReporter()
        if self._reporter is None:
            if not self.output_path:
                raise ValueError("args.output_path must name the run's output folder")
            os.makedirs(self.output_path, exist_ok=True)
            self._reporter = Reporter(self.output_path, quiet=self.args.quiet)
        return self._reporter

    def close(self) -> None:
        """Closes the run's files."""
        if self._reporter is not None:
            self._reporter.close()
            self._reporter = None

    # -- the model's structure (fixed while a runner uses it) --------------------
    @cached_property
    def arch_parameters(self) -> Dict[str, nn.Variable]:
        """``model.get_arch_parameters()``, walked once: a runner does not change
        the model's structure, and the walk over a supernet costs milliseconds."""
        return self.model.get_arch_parameters()

    @cached_property
    def net_parameters(self) -> Dict[str, nn.Variable]:
        """``model.get_net_parameters()`` (every weight), walked once."""
        return self.model.get_net_parameters()

    @cached_property
    def batch_statistics(self) -> List[nn.Variable]:
        """Running means and variances of the model's batch normalizations: kept
        per rank while training (as in standard data parallelism), taken from
        rank 0 before evaluating."""
        from ..module import BatchNormalization
        return [p for _, m in self.model.get_modules() if isinstance(m, BatchNormalization)
                for p in (m._mean, m._var)]

    @cached_property
    def mixed_ops(self) -> list:
        """The model's :class:`~nnabla_nas.module.MixedOp` modules, in tree order."""
        from ..module import MixedOp
        return [m for _, m in self.model.get_modules() if isinstance(m, MixedOp)]

    # -- graphs ----------------------------------------------------------------
    def graph(self, key: str, batch_size: int, training: bool) -> Graph:
        """The graph for ``key`` at ``batch_size``: built once and cached, or, for
        a :attr:`dynamic_graph` runner, built anew and not kept."""
        self.set_training(training)
        cache_key = (key, batch_size, training)
        if self.dynamic_graph or cache_key not in self._graphs:
            graph = build_graph(self.model, batch_size, self.input_shape,
                                self.args.loss_weights, recompute=training and self.recompute)
            if self.dynamic_graph:
                # A new path each time: nothing to cache, and a kept graph would hold
                # its functions' work buffers (depthwise convolutions' column buffers, max
                # pooling's indices: bench/micro.py buffers) while the next one runs.
                return graph
            self._graphs[cache_key] = graph
        return self._graphs[cache_key]

    @property
    def recompute(self) -> bool:
        """Whether training graphs recompute cheap activations."""
        choice = self.args.recompute
        return self.recompute_default if choice is None else bool(choice)

    def set_training(self, training: bool) -> None:
        """Puts the model in training or inference mode (a no-op when it is already)."""
        if self.__dict__.get("_training") != training:
            self.model.apply(training=training)
            self._training = training

    def accumulate(self, graph: Graph, split: str, n_accum: int,
                   batches: Optional[List[tuple]] = None):
        """Forward/backward ``n_accum`` mini-batches of ``split`` through ``graph``,
        accumulating gradients scaled by ``1/n_accum``; returns mean loss and error.

        Args:
            batches: The mini-batches to use (``n_accum`` of them) instead of
                the next ones of ``split``'s loader.
        """
        loader = self.dataloader[split]
        if batches is None:
            batches = (loader.next() for _ in range(n_accum))
        loss_sum = err_sum = 0.0
        for batch in batches:
            graph.feed(batch)
            loss, err = graph.forward()
            self.check_finite(loss, f"{split} loss")
            graph.loss.backward(1.0 / n_accum, clear_buffer=True)
            loss_sum += loss
            err_sum += err
        return loss_sum / n_accum, err_sum / n_accum

    def weight_update(self, optimizer: Optimizer, split: str, n_accum: int, key: str,
                      batches: Optional[List[tuple]] = None):
        """One weight update: build (or reuse) the graph, register the
        parameters that need gradients, accumulate, update. Architecture
        parameters are frozen, so no gradient is computed for them.
        ``batches``: as in :meth:`accumulate`."""
        with frozen(self.arch_parameters.values()):
            graph = self.graph(key, self.dataloader[split].batch_size, training=True)
            optimizer.set_parameters(self.model.get_net_parameters(grad_only=True))
            optimizer.zero_grad()
            result = self.accumulate(graph, split, n_accum, batches)
            optimizer.update()
        return result

    def evaluate(self, split: str) -> Dict[str, float]:
        """Loss and error over one ordered pass of ``split`` in inference mode.

        In a data-parallel run each rank evaluates its part of every batch with
        rank 0's batch-norm statistics, and the sums are reduced over the ranks:
        the figures of a single process evaluating rank 0's parameters.
        """
        loader = self.dataloader[split]
        self.comm.broadcast(self.batch_statistics)
        total = loss_sum = err_sum = 0
        with nn.no_grad():
            for batch in loader.epoch():
                n = len(batch[0])
                graph = self.graph(f"eval-{split}", n, training=False)
                graph.feed(batch)
                loss, err = graph.forward(clear_buffer=True)
                loss_sum += loss * n
                err_sum += err * n
                total += n
        self.set_training(True)
        loss_sum, err_sum, total = self.comm.allreduce_sum([loss_sum, err_sum, total])
        return {"loss": loss_sum / total, "error": err_sum / total}

    def meter_mean(self, name: str) -> Dict[str, float]:
        """:meth:`Meter.mean` of :attr:`meters` ``[name]`` over every rank (each rank
        averaged over its part of the same batches)."""
        meter = self.meters[name]
        if self.comm.size == 1:
            return meter.mean()
        values = np.asarray(meter.values, dtype=np.float64).reshape(-1, 2)
        loss, error, count = self.comm.allreduce_sum([*values.sum(axis=0), len(values)])
        if not count:
            return Meter().mean()
        return {"loss": float(loss / count), "error": float(error / count)}

    def mean_over_ranks(self, *columns: List[float]) -> List[List[float]]:
        """Each list of per-rank values replaced by its element-wise mean over the
        ranks, in one message (unchanged with one process)."""
        if self.comm.size == 1:
            return [list(c) for c in columns]
        sizes = [len(c) for c in columns]
        flat = self.comm.allreduce_sum(np.concatenate([np.asarray(c, float) for c in columns]))
        flat = flat / self.comm.size
        return [flat[start:start + n].tolist()
                for start, n in zip(np.cumsum([0] + sizes[:-1]), sizes)]

    def check_finite(self, value: float, what: str) -> None:
        """Raises :class:`NonFiniteError` naming the epoch, step and quantity."""
        if not np.isfinite(value):
            raise NonFiniteError(f"{what} is {value} at epoch {self.epoch + 1}, step "
                                 f"{self.step + 1}; the last good checkpoint is kept in "
                                 f"{self.output_path}")

    def check_arch_finite(self) -> None:
        """Raises :class:`NonFiniteError` naming the first architecture weight
        that is not finite."""
        for name, alpha in self.arch_parameters.items():
            if not np.all(np.isfinite(alpha.d)):
                self.check_finite(float("nan"), f"architecture weight '{name}'")

    def steps_per_epoch(self, split: str = "train", batch_size: Optional[int] = None) -> int:
        """Updates per epoch so that every image of ``split`` is used once."""
        return steps_per_epoch(self.dataloader[split].size,
                               batch_size or self.args.batch_size_train)

    def optimizer_parameters(self, name: str) -> Dict[str, nn.Variable]:
        """Every parameter optimizer ``name`` may update (arch ones for ``valid``)."""
        if name == "valid":
            return self.arch_parameters
        return {k: p for k, p in self.net_parameters.items() if p.need_grad}

    # -- state -------------------------------------------------------------------
    def state(self) -> dict:
        """Algorithm-specific JSON-able state for the checkpoint (extend it)."""
        return {"step": self.step, "seconds": self.seconds, "world_size": self.comm.size,
                "meters": {k: m.values for k, m in self.meters.items()}}

    def load_state(self, state: dict) -> None:
        """Restores :meth:`state` (extend it)."""
        self.step = int(state.get("step", 0))
        self.seconds = float(state.get("seconds", 0.0))
        for key, values in state.get("meters", {}).items():
            self.meters[key].values = [tuple(v) for v in values]

    def save_checkpoint(self) -> None:
        """Writes the checkpoint of the epochs completed so far (rank 0 only: the
        ranks hold the same state)."""
        if self.comm.is_main:
            checkpoint.save(self)

    def resume(self) -> bool:
        """Loads the checkpoint in the output folder if there is one (after
        removing temporary files a killed run left behind). Every rank reads it."""
        removed = remove_stale_temporaries(self.output_path) if self.comm.is_main else 0
        if removed:
            self.reporter.info(f"removed {removed} temporary file(s) of an interrupted write")
        return checkpoint.load(self)

    def write_json(self, name: str, data: dict) -> None:
        """Writes ``name`` in the output folder atomically (rank 0 only)."""
        if not self.comm.is_main:
            return
        write_text_atomic(os.path.join(self.output_path, name), json.dumps(data, indent=2) + "\n")
