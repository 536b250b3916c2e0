"""Unit tests of nnabla_nas/parallel/: launch detection, the choice of
communicator, GPU per rank, divisibility, the single-process group and the
packed buffer. (The MPI collectives run under mpiexec in test_mpi.py.)"""

import subprocess
import sys

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.parallel import (Launch, PackedBuffer, SingleProcess, check_divisible,
                                 communicator_class, device_for, from_environment, launch_info)
from nnabla_nas.parallel.mpi import MpiCommunicator
from nnabla_nas.parallel.nccl import NcclCommunicator
from nnabla_nas.utils.context import set_context
from nnabla_nas.utils.registry import ConfigError

OMPI = {"OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "3",
        "OMPI_COMM_WORLD_LOCAL_RANK": "1"}


@pytest.mark.parametrize("environ, launch", [
    ({}, Launch(1, 0, 0)),
    (OMPI, Launch(4, 3, 1)),
    ({"PMI_SIZE": "2", "PMI_RANK": "1", "MPI_LOCALRANKID": "0"}, Launch(2, 1, 0)),
    ({"PMI_SIZE": "2", "PMI_RANK": "1"}, Launch(2, 1, 1)),  # no local rank: the rank
])
def test_launch_is_read_from_the_launcher_environment(environ, launch):
    assert launch_info(environ) == launch
    assert launch.is_main == (launch.rank == 0)


@pytest.mark.parametrize("environ, context, cls", [
    ({}, "cpu", SingleProcess),
    ({}, "cudnn", SingleProcess),
    ({"OMPI_COMM_WORLD_SIZE": "1"}, "cpu", SingleProcess),  # mpiexec -n 1: nothing changes
    (OMPI, "cpu", MpiCommunicator),
    (OMPI, "cuda", NcclCommunicator),
    (OMPI, "cudnn", NcclCommunicator),
    ({"PMI_SIZE": "2"}, "cpu", MpiCommunicator),
])
def test_communicator_choice(environ, context, cls):
    assert communicator_class(context, environ) is cls


def test_single_process_needs_no_mpi4py():
    code = ("import sys; from nnabla_nas.parallel import from_environment; "
            "c = from_environment('cpu', environ={}); "
            "assert type(c).__name__ == 'SingleProcess' and c.is_main and c.size == 1; "
            "assert 'mpi4py' not in sys.modules, 'mpi4py imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_mpi_communicator_starts_mpi_only_at_its_first_collective():
    comm = from_environment("cpu", environ=OMPI)
    assert isinstance(comm, MpiCommunicator)
    assert (comm.rank, comm.size, comm.local_rank, comm.is_main) == (3, 4, 1, False)
    assert not comm.started


def test_nccl_communicator_that_cannot_start_is_one_line():
    """nnabla's communicator has no CPU implementation: on this CPU-only host it
    raises, and the error names the set-up to read."""
    with pytest.raises(ConfigError) as err:
        NcclCommunicator(Launch(2, 0, 0), set_context("cpu"))
    message = str(err.value)
    assert "\n" not in message and "NCCL communicator of 2 GPU processes" in message
    assert "docs/distributed.rst" in message


@pytest.mark.parametrize("local_rank, device_id, device", [
    (0, "0", "0"), (3, "0", "3"), (1, "4,5,6,7", "5"), (0, " 2, 3", "2"),
])
def test_one_gpu_per_rank(local_rank, device_id, device):
    assert device_for(local_rank, device_id) == device


def test_too_short_gpu_list_is_an_error():
    with pytest.raises(ValueError, match="lists 2 GPUs for local rank 2"):
        device_for(2, "0,1")


def test_batch_not_divisible_by_the_processes_is_one_line():
    check_divisible({"hparams.mini_batch_train": 8, "hparams.batch_size_valid": 6}, 2)
    with pytest.raises(ConfigError) as err:
        check_divisible({"hparams.mini_batch_train": 8, "hparams.batch_size_valid": 6}, 4)
    assert str(err.value) == (
        "hparams.batch_size_valid: 6 cannot be split equally over the 4 processes of this run "
        "(batch sizes are global); use a multiple of 4 such as 8, or another number of "
        "processes")


def test_single_process_collectives_are_identities():
    comm = SingleProcess()
    p = nn.Variable.from_numpy_array(np.arange(4, dtype=np.float32), need_grad=True)
    p.g = np.ones(4)
    comm.allreduce_mean([p])
    comm.broadcast([p])
    comm.barrier()
    np.testing.assert_array_equal(p.g, np.ones(4))
    np.testing.assert_array_equal(p.d, np.arange(4))
    np.testing.assert_array_equal(comm.allreduce_sum([1.5, 2]), [1.5, 2.0])
    assert comm.any_flag(True) and not comm.any_flag(False)
    with pytest.raises(SystemExit) as stop:
        comm.abort(3)
    assert stop.value.code == 3


def test_packed_buffer_round_trip_reads_gradients_anew():
    rng = np.random.RandomState(0)
    params = [nn.Variable.from_numpy_array(rng.randn(*shape).astype(np.float32),
                                           need_grad=True) for shape in [(2, 3), (4,), (1, 1, 2)]]
    packer = PackedBuffer()
    for step in range(2):  # the second pack reads the new gradients
        grads = [rng.randn(*p.shape).astype(np.float32) for p in params]
        for p, g in zip(params, grads):
            p.g = g
        buffer = packer.pack([p.g for p in params])
        np.testing.assert_array_equal(buffer, np.concatenate([g.ravel() for g in grads]))
        buffer *= 2
        packer.unpack(params, "g")
        for p, g in zip(params, grads):
            np.testing.assert_array_equal(p.g, 2 * g)
