"""Run by tests/parallel/ under ``mpiexec -n N`` (or alone): a tiny search
space without batch statistics, searched through the Python API with the
communicator of the launch. Rank 0 writes the final parameters; every rank
writes, under ``HASHES``, a hash of its weights, architecture parameters and
solver states.

Usage: python worker.py ALGORITHM[,ALGORITHM...] NPZ OUTPUT [CONTEXT]
(each algorithm writes OUTPUT/ALGORITHM/final.npz and OUTPUT/ALGORITHM/hashes/rankR.json;
CONTEXT is cpu (default) or cudnn: bench/parallel_gpu_check.py)
"""

import hashlib
import json
import os
import sys

import numpy as np

from nnabla_nas.parallel import device_for, launch_info
from nnabla_nas.utils.context import set_context

CONTEXT = sys.argv[4] if len(sys.argv) > 4 else "cpu"
NNABLA_CONTEXT = set_context(CONTEXT, device_for(launch_info().local_rank))

from nnabla_nas import module as Mo  # noqa: E402
from nnabla_nas.contrib.classification import ClassificationModel  # noqa: E402
from nnabla_nas.dataset import build_dataset, make_loaders  # noqa: E402
from nnabla_nas.optimizer import Optimizer  # noqa: E402
from nnabla_nas.parallel import from_environment  # noqa: E402
from nnabla_nas.runner import DartsSearcher, Hparams, ProxylessNasSearcher  # noqa: E402

RUNNERS = {"DartsSearcher": DartsSearcher, "ProxylessNasSearcher": ProxylessNasSearcher,
           "DartsSearcher+variants": DartsSearcher}
#: The algorithms' options beyond the defaults.
OPTIONS = {"ProxylessNasSearcher": {"n_iter": 3},
           "DartsSearcher+variants": {"second_order": True, "beta_decay": 0.5}}


class NoStats(ClassificationModel):
    """One choice point between convolutions and a pooling; no batch normalization,
    so a data-parallel run must equal a single-process one."""

    def __init__(self, mode):
        self.stem = Mo.Sequential(Mo.Conv(1, 4, (3, 3), pad=(1, 1)), Mo.ReLU())
        self.choice = Mo.MixedOp([Mo.Conv(4, 4, (3, 3), pad=(1, 1)),
                                  Mo.Conv(4, 4, (1, 1)),
                                  Mo.MaxPool((3, 3), stride=(1, 1), pad=(1, 1))], mode=mode)
        self.head = Mo.Sequential(Mo.GlobalAvgPool(), Mo.Linear(4, 3))

    def call(self, x):
        return self.head(self.choice(self.stem(x)))


def digest(arrays) -> str:
    h = hashlib.sha256()
    for name, value in arrays:
        h.update(name.encode())
        h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()


def search(algorithm, npz, output):
    hashes = os.path.join(output, "hashes")
    np.random.seed(0)  # the MixedOps' samplers; the runner gives every rank rank 0's anyway
    comm = from_environment(CONTEXT, NNABLA_CONTEXT)
    runner_cls = RUNNERS[algorithm]
    hp = Hparams(epoch=2, warmup=1, batch_size_train=16, batch_size_valid=16,
                 mini_batch_train=8, output_path=output, seed=0, quiet=True)
    loaders = make_loaders(build_dataset({"npz": {"path": npz, "train_portion": 0.5}}),
                           "search", hp.mini_batch_train, hp.mini_batch_valid, seed=0,
                           shard=(comm.rank, comm.size))
    optimizers = {"train": Optimizer(name="Momentum", lr=0.05, momentum=0.9, grad_clip=0.5,
                                     weight_decay=1e-3),
                  "valid": Optimizer(name="Adam", lr=0.05, beta1=0.5)}
    for optimizer in optimizers.values():
        optimizer.comm = comm
    options = OPTIONS.get(algorithm, {})
    runner = runner_cls(NoStats(runner_cls.network_mode), optimizers, loaders, hp, comm=comm,
                        **options)
    runner.run()
    params = runner.model.get_parameters()
    states = []
    for name, optimizer in optimizers.items():
        optimizer.set_parameters(runner.optimizer_parameters(name))
        for key, state in optimizer._solver.get_states().items():
            states += [(f"{name}/{key}/t", np.array(state.t))]
            states += [(f"{name}/{key}/{k}", v.d) for k, v in sorted(state.pstate.items())]
    os.makedirs(hashes, exist_ok=True)
    with open(os.path.join(hashes, f"rank{comm.rank}.json"), "w") as f:
        json.dump({"rank": comm.rank, "size": comm.size,
                   "steps": runner.optimizer["train"].iteration,
                   "params": digest(sorted((k, p.d) for k, p in params.items())),
                   "solvers": digest(states)}, f)
    if comm.is_main:
        np.savez(os.path.join(output, "final.npz"), **{k: p.d for k, p in params.items()})


if __name__ == "__main__":
    algorithms, npz, output = sys.argv[1:4]
    for name in algorithms.split(","):
        search(name, npz, os.path.join(output, name))
