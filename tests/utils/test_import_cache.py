import subprocess
import sys

SCRIPT = r"""
import sys, time
import nnabla as nn, nnabla.functions as F, numpy as np
def build(n):
    x = nn.Variable((2, 3, 8, 8)); w = nn.Variable((3, 3, 3, 3))
    start = time.perf_counter()
    for _ in range(n):
        y = F.relu(F.convolution(x, w, pad=(1, 1)))
    return time.perf_counter() - start, x, w, y
slow = build(1500)[0]
import nnabla_nas.module  # installs the cache
assert sys.modules["nnabla.nnabla"] is None
fast, x, w, y = build(1500)
x.d = np.arange(x.size).reshape(x.shape) % 7; w.d = np.ones(w.shape)
y.forward()
print(slow / fast, float(y.d.sum()))
"""


def test_negative_import_cache_speeds_up_function_calls_and_keeps_results():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True).stdout.split()
    ratio, total = float(out[0]), float(out[1])
    assert ratio > 1.3, ratio
    # Same graph, same numbers as plain nnabla (reference computed without the cache).
    ref = subprocess.run([sys.executable, "-c", SCRIPT.split("slow = build")[0] +
                          "t, x, w, y = build(1)\n"
                          "x.d = np.arange(x.size).reshape(x.shape) % 7; w.d = np.ones(w.shape)\n"
                          "y.forward(); print(float(y.d.sum()))"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert float(ref[0]) == total
