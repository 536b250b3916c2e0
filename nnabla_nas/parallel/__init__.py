"""Data parallelism across processes and machines (``mpiexec -n N``).

:func:`from_environment` gives the run's :class:`Communicator`:
:class:`SingleProcess` without a launcher (nothing changes, mpi4py is not
needed), :class:`MpiCommunicator` on CPUs, :class:`NcclCommunicator` on GPUs.
The cli builds it and passes it to the optimizers, the data loaders (as a
shard) and the runner; ``docs/distributed.rst`` describes the semantics.
"""

from typing import Mapping, Optional

from .communicator import (Communicator, Launch, PackedBuffer, SingleProcess, check_divisible,
                           device_for, launch_info)

GPU_CONTEXTS = ("cuda", "cudnn")


def communicator_class(context: str = "cpu", environ: Optional[Mapping[str, str]] = None):
    """The :class:`Communicator` class for a run on ``context`` launched as
    ``environ`` describes (default ``os.environ``)."""
    if launch_info(environ).size <= 1:
        return SingleProcess
    if context in GPU_CONTEXTS:
        from .nccl import NcclCommunicator
        return NcclCommunicator
    from .mpi import MpiCommunicator
    return MpiCommunicator


def from_environment(context: str = "cpu", nnabla_context=None,
                     environ: Optional[Mapping[str, str]] = None) -> Communicator:
    """Builds the communicator of this process (see :func:`communicator_class`).

    Args:
        context: ``cpu``, ``cuda`` or ``cudnn`` (the ``-c`` flag).
        nnabla_context: The nnabla context object, for the GPU communicator.
        environ: The environment to read the launch from (default ``os.environ``).

    Raises:
        ConfigError: A launch of several processes that cannot communicate
            (mpi4py missing on CPU, NCCL communicator failing on GPU).
    """
    cls = communicator_class(context, environ)
    if cls is SingleProcess:
        return SingleProcess()
    launch = launch_info(environ)
    if context in GPU_CONTEXTS:
        return cls(launch, nnabla_context)
    return cls(launch)


__all__ = ["Communicator", "Launch", "PackedBuffer", "SingleProcess", "check_divisible",
           "communicator_class", "device_for", "from_environment", "launch_info"]
