"""Run by test_mpi.py under ``mpiexec -n 2``: MpiCommunicator's collectives
checked against the values each rank can compute itself. Prints ``ok RANK``."""

import nnabla as nn
import numpy as np

from nnabla_nas.parallel import from_environment
from nnabla_nas.parallel.mpi import MpiCommunicator

comm = from_environment("cpu")
assert isinstance(comm, MpiCommunicator) and comm.size == 2, comm
r = comm.rank
params = [nn.Variable.from_numpy_array(np.full(shape, 10.0 * r, np.float32), need_grad=True)
          for shape in [(3, 2), (5,)]]
for step in range(3):  # gradients written anew each step, as after a backward
    for i, p in enumerate(params):
        p.g = np.arange(p.size, dtype=np.float32).reshape(p.shape) * (r + 1) + step + i
    comm.allreduce_mean(params)
    for i, p in enumerate(params):  # mean of (k * 1 + c) and (k * 2 + c)
        expected = np.arange(p.size, dtype=np.float32).reshape(p.shape) * 1.5 + step + i
        np.testing.assert_allclose(p.g, expected, rtol=0, atol=1e-6)
np.testing.assert_array_equal(comm.allreduce_sum([r, 1.0, 0.25]), [1.0, 2.0, 0.5])
assert comm.any_flag(r == 1) and not comm.any_flag(False)
comm.broadcast(params)
for p in params:
    np.testing.assert_array_equal(p.d, np.zeros(p.shape))  # rank 0's values
comm.barrier()
print(f"ok {r}", flush=True)
