"""`NcclCommunicator`: the GPU path, nnabla's MultiProcessDataParallelCommunicator.

With a ``cuda``/``cudnn`` context, nnabla's communicator all-reduces gradients
on the devices with NCCL. It is part of nnabla-ext-cuda, which loads
``libmpi.so`` (Open MPI's ABI) and ``libnccl.so`` at run time; see
``docs/distributed.rst`` for the set-up. Untested here (no GPU):
``bench/parallel_gpu_check.py`` compares it with the CPU path on a GPU host.
"""

from typing import NoReturn, Sequence

import nnabla as nn
import numpy as np

from ..utils.registry import ConfigError
from .communicator import Communicator, Launch


class NcclCommunicator(Communicator):
    """The ranks of an ``mpiexec`` launch on GPUs, one GPU per rank.

    Args:
        launch: Rank, size and local rank from the launcher's environment.
        context: The nnabla context of the run (``cudnn`` or ``cuda``; its
            device is the rank's GPU).

    Raises:
        ConfigError: The CUDA extension cannot start the communicator
            (``libmpi.so`` or ``libnccl.so`` not found...).
    """

    def __init__(self, launch: Launch, context=None):
        try:
            import nnabla.communicators as C
            self._comm = C.MultiProcessDataParallelCommunicator(
                context or nn.get_current_context())
            self._comm.init()
        except Exception as err:  # the extension raises plain Exceptions
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConfigError(f"the NCCL communicator of {launch.size} GPU processes could not "
                              f"start: {reason} (see docs/distributed.rst, GPU set-up)") from None
        self.rank, self.size = int(self._comm.rank), int(self._comm.size)
        self.local_rank = int(self._comm.local_rank)
        if (self.rank, self.size) != (launch.rank, launch.size):
            raise ConfigError(f"the NCCL communicator says rank {self.rank} of {self.size}, the "
                              f"launcher rank {launch.rank} of {launch.size}")

    def allreduce_mean(self, params: Sequence[nn.Variable]) -> None:
        if params:
            # inplace=False: nnabla packs the arrays into one buffer, one NCCL call.
            self._comm.all_reduce([p.grad for p in params], division=True, inplace=False)

    def allreduce_sum(self, values: Sequence[float]) -> np.ndarray:
        array = nn.NdArray.from_numpy_array(np.asarray(values, dtype=np.float32))
        self._comm.all_reduce(array, division=False, inplace=True)
        return np.asarray(array.data, dtype=np.float64)

    def broadcast(self, params: Sequence[nn.Variable], root: int = 0) -> None:
        if params:
            self._comm.bcast([p.data for p in params], src=root, inplace=False)

    def barrier(self) -> None:
        self._comm.barrier()

    def abort(self, code: int = 1) -> NoReturn:
        self._comm.abort()
        raise SystemExit(code)  # not reached: abort ends every process
