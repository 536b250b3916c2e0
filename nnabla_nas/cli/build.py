"""Builds a run from a validated config: data, model, optimizers, runner.

Data flows one way: config -> registries build -> runner. The config was
checked by :func:`~.config.validate_config`, so the registered callables are
called directly here.
"""

import os
from dataclasses import dataclass
from typing import Dict, List, Optional

import nnabla as nn
import numpy as np

from ..contrib.registry import SPACES
from ..dataset import DATASETS, make_loaders
from ..optimizer import Optimizer
from ..parallel import Communicator, SingleProcess
from ..runner.registry import RUNNERS
from ..runner.runner import steps_per_epoch
from ..runner.searcher import Searcher
from ..utils.estimator import ESTIMATORS
from ..utils.registry import ConfigError, accepted_keys
from .config import DATA_ARGS, RunConfig

#: Optimizer sections used when the config leaves them out (DARTS paper settings).
DEFAULT_OPTIMIZERS = {
    "train": {"name": "Momentum", "lr": 0.025, "momentum": 0.9, "weight_decay": 3e-4,
              "grad_clip": 5.0, "lr_scheduler": "CosineScheduler"},
    "valid": {"name": "Adam", "lr": 3e-4, "beta1": 0.5, "beta2": 0.999, "weight_decay": 1e-3},
}


@dataclass
class Run:
    """Everything built for one run."""

    runner: object
    model: object
    data: object
    config: RunConfig


def seed_everything(seed: int) -> None:
    """Seeds numpy's global state and nnabla's random generator."""
    np.random.seed(seed)
    nn.random.seed(seed)


def build_run(config: RunConfig, comm: Optional[Communicator] = None) -> Run:
    """Builds data, model, optimizers and the runner of ``config.algorithm``.

    The resolved values (data-derived network arguments, input shapes,
    default optimizers) are written back into ``config``. ``comm`` (default:
    one process) is the data-parallel process group: the loaders give this
    rank its shard of every batch, the optimizers average gradients over the
    ranks and the runner reduces its figures and writes on rank 0 only.

    Raises:
        ConfigError: A value that only the data can contradict (input shape,
            number of classes) or a search split too small for its batch.
    """
    hp = config.hparams
    comm = comm if comm is not None else SingleProcess()
    runner_cls = RUNNERS.get(config.algorithm, "-a/--algorithm")
    mode = "search" if issubclass(runner_cls, Searcher) else "train"
    seed_everything(hp.seed)
    data = DATASETS.get(config.dataset)(**config.dataset_options)
    shape = _resolve_shapes(config, list(data.shape))
    loaders = make_loaders(data, mode, hp.mini_batch_train, hp.mini_batch_valid, seed=hp.seed,
                           shard=(comm.rank, comm.size))
    model = _build_model(config, runner_cls, mode, shape, data.num_classes)
    optimizers = _build_optimizers(config, mode, loaders["train"].size)
    for optimizer in optimizers.values():
        optimizer.comm = comm
    options = dict(config.options)
    if "regularizer" in runner_cls.options():
        if any(opts.get("runtime") == "onnxruntime" for opts in config.regularizer.values()):
            from ..export import latency  # noqa: F401  (registers the onnxruntime runtime)
        options["regularizer"] = {name: ESTIMATORS.get(name)(**opts)
                                  for name, opts in config.regularizer.items()}
    runner = runner_cls(model, optimizers, loaders, hp, comm=comm, **options)
    if mode == "train":
        runner.end_hooks.append(write_inference_nnp)
    return Run(runner, model, data, config)


def write_inference_nnp(runner, summary: dict) -> None:
    """Writes ``model.nnp`` beside a finished training run's ``weights.h5``: the
    inference network with the chosen weights, taking 0..255 pixels (the
    training data's normalization is inside; :mod:`nnabla_nas.export`)."""
    if not runner.comm.is_main:  # rank 0 writes
        return
    from ..export import export
    train = runner.dataloader["train"]
    export(runner.model, os.path.join(runner.output_path, "model.nnp"),
           runner.model.input_shapes[0][1:], normalization=(train.mean, train.std))


def _resolve_shapes(config: RunConfig, shape: List[int]) -> List[int]:
    """Checks ``hparams.input_shapes`` against the data's and fills it in."""
    hp = config.hparams
    if hp.input_shapes and list(hp.input_shapes[0]) != shape:
        raise ConfigError(f"hparams.input_shapes: {hp.input_shapes[0]} does not match the "
                          f"data ({shape} from dataloader.{config.dataset})")
    hp.input_shapes = [shape]
    hp.target_shapes = hp.target_shapes or [[1]]
    return shape


def _build_model(config: RunConfig, runner_cls, mode: str, shape: List[int],
                 num_classes: int):
    """The network of the search space, its data arguments filled from the data."""
    options = dict(config.network_options)
    net_cls = runner_cls.network_class(SPACES.get(config.network))
    found = {"in_channels": shape[0], "num_classes": num_classes}
    for key in DATA_ARGS:
        if key not in accepted_keys(net_cls):
            continue
        if options.get(key) is not None and options[key] != found[key]:
            raise ConfigError(f"network.{config.network}.{key}: {options[key]} does not match "
                              f"the data ({found[key]} from dataloader.{config.dataset})")
        options[key] = found[key]
    if mode == "search":
        options.setdefault("mode", runner_cls.network_mode)
    try:
        model = net_cls(**options)
    except (ValueError, TypeError, FileNotFoundError) as err:
        raise ConfigError(f"network.{config.network}: {str(err).splitlines()[0]}") from None
    config.network_options = options
    return model


def _build_optimizers(config: RunConfig, mode: str, train_size: int) -> Dict[str, Optimizer]:
    """The optimizers of the run, with the default sections filled in and
    their schedules sized to the run's updates."""
    hp = config.hparams
    steps = steps_per_epoch(train_size, hp.batch_size_train)
    sections = dict(config.optimizer)
    sections.setdefault("train", dict(DEFAULT_OPTIMIZERS["train"]))
    if mode == "search":
        sections.setdefault("valid", dict(DEFAULT_OPTIMIZERS["valid"]))
    else:
        sections.pop("valid", None)
        sections.pop("warmup", None)
    warmup = hp.warmup if mode == "search" and "warmup" not in sections else 0
    total = {"train": steps * (hp.epoch + warmup),
             "valid": steps * hp.epoch, "warmup": steps * max(hp.warmup, 1)}
    config.optimizer = sections
    return {name: Optimizer(**opts, max_iter=total[name], path=f"optimizer.{name}")
            for name, opts in sections.items()}


def describe(run: Run) -> str:
    """The short summary ``--check`` prints."""
    hp = run.config.hparams
    loaders = run.runner.dataloader
    net = sum(int(np.prod(p.shape)) for p in run.model.get_net_parameters().values()
              if p.need_grad)
    arch = sum(int(np.prod(p.shape)) for p in run.model.get_arch_parameters().values())
    choices = len(run.runner.mixed_ops)
    splits = ", ".join(f"{k} {v.size}" for k, v in loaders.items())
    return "\n".join([
        f"config OK: {run.config.dataset} ({splits} images, input {hp.input_shapes[0]}, "
        f"{run.data.num_classes} classes)",
        f"network: {run.config.network}.{type(run.model).__name__}, {net} trainable net "
        f"parameters, {arch} architecture parameters, {choices} choice points",
        f"steps per epoch: {run.runner.steps_per_epoch('train')} "
        f"(batch {hp.batch_size_train}, mini-batch {hp.mini_batch_train}); "
        f"epochs: {hp.warmup} warmup + {hp.epoch}",
        "optimizers: " + "; ".join(f"{k}: {v!r}" for k, v in run.runner.optimizer.items()),
    ])
