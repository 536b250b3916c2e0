"""Memory probes of ``bench/micro.py``: each runs a script in a fresh process (one
per variant), so that its RSS figures are its own.

Tasks: ``retention``, ``buffers``, ``memory``, ``steady`` and ``baseline``; run them
through ``python bench/micro.py TASK``.
"""

import subprocess
import sys


#: Prepended to the subprocess scripts below: ``rss()``, this process's resident
#: memory in MiB, after handing nnabla's CPU cache and glibc's free pages back
#: (``release=False``: as it is, for a process that has not imported nnabla yet).
RSS = r"""
import ctypes, gc

def rss(release=True):
    if release:
        from nnabla.ext_utils import import_extension_module
        gc.collect()
        import_extension_module("cpu").clear_memory_cache()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2 ** 20
"""

#: Prepended to the subprocess scripts that run searches: ``paper_searcher(model,
#: algorithm, recompute=None)``, the searcher of benchmark workload 4 (mini-batch 16
#: of random 32x32 images, 10 classes, the solvers of bench/harness.py's drivers).
SEARCHER = r"""
import numpy as np

def paper_searcher(model, algorithm, recompute=None):
    from nnabla_nas.dataset import DataLoader
    from nnabla_nas.optimizer import Optimizer
    from nnabla_nas.runner import DartsSearcher, Hparams, ProxylessNasSearcher
    rng = np.random.RandomState(0)
    x = rng.randint(0, 255, (64, 32, 32, 3)).astype(np.uint8)
    y = rng.randint(0, 10, 64)
    data = {split: DataLoader(x, y, 16, shuffle=True) for split in ("train", "valid")}
    hp = Hparams(epoch=1, batch_size_train=16, batch_size_valid=16,
                 output_path="/tmp/micro_searcher", quiet=True, recompute=recompute)
    opts = {"train": Optimizer(name="Momentum", lr=0.025, momentum=0.9),
            "valid": Optimizer(name="Adam", lr=3e-4)}
    if algorithm == "darts":
        return DartsSearcher(model, opts, data, hp)
    return ProxylessNasSearcher(model, opts, data, hp, n_iter=10)
"""


RETENTION = RSS + r"""
import sys
import numpy as np, nnabla as nn, nnabla.functions as F
from nnabla.ext_utils import get_extension_context
nn.set_default_context(get_extension_context("cpu"))
from nnabla_nas import module as Mo
from nnabla_nas.contrib import pnas
if sys.argv[1] == "maximum_scalar":
    Mo.ReLU.call = lambda self, x: F.maximum_scalar(x, 0.0)

np.random.seed(0)
model = pnas.SearchNet(3, 16, 8, 10, sampling="edges")
model.apply(training=True)
held, work = [], []
for _ in range(3):
    x, t = nn.Variable((16, 3, 32, 32)), nn.Variable((16, 1))
    x.d = np.random.rand(*x.shape)
    t.d = np.random.randint(0, 10, t.shape)
    loss = model.loss(model(x), t)
    before = rss()
    loss.forward(clear_no_need_grad=True)
    grown = rss() - before
    seen, kept = set(), [0]
    def visit(f):
        for v in f.outputs:  # Variables hash by the graph node they wrap
            if v not in seen:
                seen.add(v)
                kept[0] += 0 if v.data.clear_called else v.size * 4
    loss.visit(visit)
    held.append(kept[0] / 2 ** 20)
    work.append(grown - held[-1])  # what the functions hold themselves
    del loss, seen, visit
print(f"{np.mean(held):.0f} {np.mean(work):.0f}")
"""


def retention() -> None:
    """Activations one sampled DARTS path keeps for its backward pass at the paper's
    search size, with ReLU as ``F.relu`` and as ``F.maximum_scalar``, and the memory
    its functions hold themselves."""
    for kind in ("relu", "maximum_scalar"):
        out = subprocess.run([sys.executable, "-c", RETENTION, kind], capture_output=True,
                             text=True, check=True).stdout.split()
        print(f"one sampled path (init_channels 16, 8 cells, mini-batch 16), ReLU as {kind}: "
              f"{out[0]} MiB of activations kept for backward after "
              f"forward(clear_no_need_grad=True), and {out[1]} MiB more held by its "
              f"functions (RSS growth in the forward pass, allocator cache returned, "
              f"minus those activations; mean of 3 paths, same seed)")


BUFFERS = RSS + r"""
import numpy as np, nnabla as nn, nnabla.functions as F
from nnabla.ext_utils import get_extension_context
nn.set_default_context(get_extension_context("cpu"))

n, c, h = 16, 64, 32
x = nn.Variable.from_numpy_array(np.random.rand(n, c, h, h).astype(np.float32))
w1 = nn.Variable.from_numpy_array(np.random.rand(c, c, 1, 1).astype(np.float32))
w3 = nn.Variable.from_numpy_array(np.random.rand(c, c, 3, 3).astype(np.float32))
wd = nn.Variable.from_numpy_array(np.random.rand(c, 3, 3).astype(np.float32))
stat = [nn.Variable.from_numpy_array(v((1, c, 1, 1), np.float32))
        for v in (np.zeros, np.ones, np.zeros, np.ones)]
cases = {
    "convolution 1x1": lambda h: F.convolution(h, w1),
    "convolution 3x3": lambda h: F.convolution(h, w3, pad=(1, 1)),
    "depthwise_convolution 3x3": lambda h: F.depthwise_convolution(h, wd, pad=(1, 1)),
    "batch_normalization": lambda h: F.batch_normalization(h, *stat, batch_stat=True),
    "relu": F.relu,
    "max_pooling 3x3": lambda h: F.max_pooling(h, (3, 3), (1, 1), pad=(1, 1)),
    "average_pooling 3x3": lambda h: F.average_pooling(h, (3, 3), (1, 1), pad=(1, 1)),
}
print(f"input {n}x{c}x{h}x{h}, one output {n * c * h * h * 4 / 2 ** 20:.1f} MiB")
for name, build in cases.items():
    before = rss()
    ys = [build(x) for _ in range(10)]
    for y in ys:
        y.forward(clear_buffer=True)
        y.data.clear()
    print(f"{name}: {(rss() - before) / 10:.2f} MiB held per function after its "
          f"forward pass, output freed")
    del ys, y
"""


def buffers() -> None:
    """Memory an nnabla CPU function keeps for as long as it exists (its work
    buffers), after a forward pass whose output is freed: 10 functions of each kind."""
    print(subprocess.run([sys.executable, "-c", BUFFERS], capture_output=True, text=True,
                         check=True).stdout.strip())


MEMORY = SEARCHER + r"""
import resource, sys
from nnabla_nas.contrib import darts, pnas
algorithm, recompute = sys.argv[1], sys.argv[2] == "on"
np.random.seed(0)
model = (darts.SearchNet(3, 16, 8, 10, shared=True) if algorithm == "darts"
         else pnas.SearchNet(3, 16, 8, 10, sampling="edges"))
s = paper_searcher(model, algorithm, recompute)
s.train_on_batch(); s.valid_on_batch()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def memory() -> None:
    """Peak RSS of one search step at the DARTS paper's size, recompute off and on."""
    for algo in ("darts", "pnas"):
        for flag in ("off", "on"):
            out = subprocess.run([sys.executable, "-c", MEMORY, algo, flag],
                                 capture_output=True, text=True, check=True).stdout
            print(f"{algo} step (init_channels 16, 8 cells, mini-batch 16), recompute "
                  f"{flag}: peak RSS {out.strip()} MiB")


STEADY = SEARCHER + r"""
import resource, sys
import nnabla as nn
nn.set_default_context(nn.Context(["cpu:float"], "0"))
from nnabla_nas.contrib import pnas
np.random.seed(0)
s = paper_searcher(pnas.SearchNet(3, 16, 8, 10, sampling="edges"), "pnas")
peaks = []
for _ in range(int(sys.argv[1])):
    s.train_on_batch()
    s.valid_on_batch()
    peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
print(" ".join(map(str, peaks)))
"""


def steady() -> None:
    """Peak RSS of a ProxylessNAS search at the DARTS paper's size after each of its
    first 10 steps (benchmark workload 4 measures the first step only; a search
    runs thousands)."""
    out = subprocess.run([sys.executable, "-c", STEADY, "10"], capture_output=True,
                         text=True, check=True).stdout.split()
    print(f"ProxylessNAS search (init_channels 16, 8 cells, mini-batch 16): peak RSS "
          f"after steps 1-10: {', '.join(out)} MiB")


BASELINE = RSS + r"""
rows = [("python", rss(False))]
import numpy as np
rows.append(("import numpy", rss(False)))
import nnabla as nn
import nnabla.functions, nnabla.parametric_functions, nnabla.solvers
nn.set_default_context(nn.Context(["cpu:float"], "0"))
rows.append(("import nnabla", rss(False)))
from nnabla_nas.contrib import pnas
from nnabla_nas.dataset import DataLoader
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner import Hparams, ProxylessNasSearcher
rows.append(("import nnabla_nas (runner, pnas, dataset, optimizer)", rss(False)))
np.random.seed(0)
model = pnas.SearchNet(3, 16, 8, 10, sampling="edges")
params = model.get_parameters().values()
rows.append((f"pnas.SearchNet(3, 16, 8, 10, sampling="edges"): {len(params)} parameter arrays, "
             f"{sum(p.size for p in params) * 4 / 2 ** 20:.1f} MiB", rss(False)))
""" + SEARCHER + r"""
paper_searcher(model, "pnas")
rows.append(("data loaders, optimizers, searcher", rss(False)))
last = 0.0
for name, value in rows:
    print(f"{name}: {value:.0f} MiB (+{value - last:.0f})")
    last = value
# What nnabla alone needs for arrays of the same shapes: the supernet's share that
# is not this package's Python objects (modules, registries).
shapes = [p.shape for p in params]
before = rss(False)
plain = [nn.Variable.from_numpy_array(np.zeros(s, np.float32)) for s in shapes]
print(f"the same {len(shapes)} arrays as plain nnabla Variables: "
      f"+{rss(False) - before:.0f} MiB")
"""


def baseline() -> None:
    """RSS of a process before its first search step at the DARTS paper's size, piece
    by piece (what workload 4's two steps both start from), and what nnabla alone
    needs for the supernet's parameter arrays."""
    print(subprocess.run([sys.executable, "-c", BASELINE], capture_output=True, text=True,
                         check=True).stdout.strip())
