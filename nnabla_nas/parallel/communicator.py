"""`Communicator`: what a data-parallel run asks of its process group, and
`SingleProcess`, the group of one (every call a no-op).

A run launched by ``mpiexec -n N`` holds N processes (ranks) that each train
on a disjoint 1/N of every batch. They keep the same weights, architecture
parameters and optimizer state by averaging gradients before every update
(:meth:`Communicator.allreduce_mean`), reduce their metrics
(:meth:`Communicator.allreduce_sum`) and agree on when to stop
(:meth:`Communicator.any_flag`). Only the main rank (0) writes files.
"""

import os
from dataclasses import dataclass
from typing import Mapping, NoReturn, Optional, Sequence

import nnabla as nn
import numpy as np

#: Environment variables an MPI launcher sets: (size, rank, local rank), per family.
LAUNCH_VARIABLES = (
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK"),  # Open MPI
    ("PMI_SIZE", "PMI_RANK", "MPI_LOCALRANKID"),  # MPICH / Intel MPI (Hydra)
)


@dataclass(frozen=True)
class Launch:
    """Where this process stands in its launch, read from the environment
    (before MPI starts, so bad input can stop every rank alike).

    Attributes:
        size: Number of processes (1 without a launcher).
        rank: This process' index, 0..size-1.
        local_rank: Its index among the processes of its host.
    """

    size: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Whether this process is rank 0, the one that writes."""
        return self.rank == 0


def launch_info(environ: Optional[Mapping[str, str]] = None) -> Launch:
    """The :class:`Launch` described by ``environ`` (default ``os.environ``)."""
    environ = os.environ if environ is None else environ
    for size_key, rank_key, local_key in LAUNCH_VARIABLES:
        if size_key in environ:
            size, rank = int(environ[size_key]), int(environ.get(rank_key, 0))
            return Launch(size, rank, int(environ.get(local_key, rank)))
    return Launch()


def device_for(local_rank: int, device_id: str = "0") -> str:
    """The GPU of a rank: the ``local_rank``-th entry of a list such as
    ``"0,1,2,3"`` (``-d``), else the local rank itself (one GPU per rank)."""
    ids = [d.strip() for d in str(device_id).split(",") if d.strip()]
    if len(ids) > 1:
        if local_rank >= len(ids):
            raise ValueError(f"device_id: '{device_id}' lists {len(ids)} GPUs for local rank "
                             f"{local_rank}; list one GPU per process of the host")
        return ids[local_rank]
    return str(local_rank)


class Communicator:
    """The process group of a run: identity, collectives on gradients and
    scalars, and an abort that ends every rank.

    Attributes:
        rank: This process' index, 0..size-1.
        size: Number of processes.
        local_rank: Index among the processes of this host (the GPU of a rank).
    """

    rank = 0
    size = 1
    local_rank = 0

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the only rank that writes files and logs."""
        return self.rank == 0

    def allreduce_mean(self, params: Sequence[nn.Variable]) -> None:
        """Replaces each parameter's gradient ``.g`` by its mean over the ranks,
        in one packed message. Every rank passes the same parameters in the
        same order."""
        raise NotImplementedError

    def allreduce_sum(self, values: Sequence[float]) -> np.ndarray:
        """The element-wise sum over the ranks of a few scalars (float64)."""
        raise NotImplementedError

    def broadcast(self, params: Sequence[nn.Variable], root: int = 0) -> None:
        """Copies the values ``.d`` of ``params`` from rank ``root`` to every rank."""
        raise NotImplementedError

    def any_flag(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is true on any (a coordinated stop)."""
        return bool(self.allreduce_sum([1.0 if flag else 0.0])[0] > 0)

    def barrier(self) -> None:
        """Returns when every rank has called it."""
        self.allreduce_sum([0.0])

    def abort(self, code: int = 1) -> NoReturn:
        """Ends every rank of the job with exit code ``code``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, size={self.size})"


class SingleProcess(Communicator):
    """The group of one process: a run without ``mpiexec`` (the default)."""

    def allreduce_mean(self, params: Sequence[nn.Variable]) -> None:
        pass

    def allreduce_sum(self, values: Sequence[float]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    def broadcast(self, params: Sequence[nn.Variable], root: int = 0) -> None:
        pass

    def any_flag(self, flag: bool) -> bool:
        return bool(flag)

    def barrier(self) -> None:
        pass

    def abort(self, code: int = 1) -> NoReturn:
        raise SystemExit(code)


class PackedBuffer:
    """One reusable float32 buffer that packs a list of arrays for a single message.

    Gradient arrays are read anew on every call: nnabla may reallocate a
    gradient between backward passes, so a view kept from an earlier step
    could point at freed memory.
    """

    def __init__(self):
        self._buffer = np.zeros(0, dtype=np.float32)

    def pack(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """Copies ``arrays`` (flattened, in order) into the buffer; returns it."""
        total = sum(a.size for a in arrays)
        if self._buffer.size != total:
            self._buffer = np.empty(total, dtype=np.float32)
        start = 0
        for a in arrays:
            self._buffer[start:start + a.size] = a.ravel()
            start += a.size
        return self._buffer

    def unpack(self, params: Sequence[nn.Variable], attr: str = "g") -> None:
        """Writes the buffer back into ``params``' ``.g`` (or ``.d``)."""
        start = 0
        for p in params:
            size = int(np.prod(p.shape))
            setattr(p, attr, self._buffer[start:start + size].reshape(p.shape))
            start += size


def check_divisible(batches: Mapping[str, int], processes: int) -> None:
    """Raises :class:`~nnabla_nas.utils.registry.ConfigError` naming the first
    of ``batches`` (config key -> global batch size) that ``processes`` ranks
    cannot share equally."""
    from ..utils.registry import ConfigError
    for key, batch in batches.items():
        if batch % processes:
            multiple = -(-batch // processes) * processes
            raise ConfigError(f"{key}: {batch} cannot be split equally over the {processes} "
                              f"processes of this run (batch sizes are global); use a multiple "
                              f"of {processes} such as {multiple}, or another number of "
                              f"processes")
