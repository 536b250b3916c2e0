"""Sample mode keeps memory at the level of one path (a coarse check; bench/ has figures)."""

import subprocess
import sys

import pytest

# The peak is the process's own high-water mark (VmHWM, reset by exec):
# ru_maxrss carries the parent's resident size across fork and exec, so a test
# process that has grown past the step's peak would hide it.
SCRIPT = r"""
import sys
import nnabla as nn, numpy as np
from nnabla_nas.contrib import darts
def hwm_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
mode = sys.argv[1]
np.random.seed(0)
net = darts.SearchNet(3, 8, 4, 10, mode=mode, shared=(mode == "full"))
x = nn.Variable.from_numpy_array(np.random.randn(16, 3, 32, 32).astype(np.float32))
t = nn.Variable.from_numpy_array(np.random.randint(0, 10, (16, 1)))
before = hwm_kb()
for _ in range(1):
    loss = net.loss(net(x), t)
    loss.forward(clear_no_need_grad=True)
    loss.backward(clear_buffer=True)
peak = hwm_kb()
print(peak - before)
"""


def step_memory_kb(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                         check=True).stdout
    return int(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_sampled_step_uses_far_less_memory_than_full():
    full = step_memory_kb("full")
    sample = step_memory_kb("sample")
    assert full > 50_000, full  # the supernet step really allocates (> 100 MB)
    assert sample < 0.4 * full, (sample, full)
