"""Micro-benchmarks behind the optimisation notes in docs/benchmarks.md.

Usage: ``python bench/micro.py [fcall|mixing|kernels|build|passes|split|retention|buffers|memory|steady|baseline|all]``.
Each figure is measured in this process (``mixing``, ``kernels``, ``build``,
``passes``, ``split``) or in subprocesses (``fcall``: one without and one with the import shortcuts;
``retention``, ``buffers``, ``memory``, ``steady`` and ``baseline``: one per
variant), on the CPU context.
"""

import platform
import subprocess
import sys
import time

import numpy as np


def fcall() -> None:
    """Cost of one ``nnabla.functions`` call, before and after the import cache."""
    code = r"""
import sys, time
import nnabla as nn, nnabla.functions as F
def per_call():
    x = nn.Variable((2, 3, 8, 8)); w = nn.Variable((3, 3, 3, 3))
    start = time.perf_counter()
    for _ in range(3000):
        F.relu(F.convolution(x, w))
    return (time.perf_counter() - start) / 6000 * 1e6
before = per_call()
import nnabla_nas.module  # installs the import shortcuts
print(f"{before:.1f} {per_call():.1f}")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    print(f"F call (graph construction): {out[0]} us plain nnabla, {out[1]} us with "
          f"the shortcuts of nnabla_nas.utils.import_cache")


def mixing() -> None:
    """``w * y`` (broadcast multiply) against the (1,1)x(1,size) affine MixedOp uses."""
    import nnabla as nn
    import nnabla.functions as F
    import nnabla_nas.module  # noqa: F401
    y = nn.Variable.from_numpy_array(np.random.randn(8, 8, 32, 32).astype(np.float32))
    y.need_grad = True
    w = nn.Variable.from_numpy_array(np.full((1, 1, 1, 1), 0.3, np.float32))
    w.need_grad = True

    def run(build):
        loss = F.sum(build())
        loss.forward()
        loss.backward()
        start = time.perf_counter()
        for _ in range(20):
            loss.forward(clear_no_need_grad=True)
            loss.backward(clear_buffer=True)
        return (time.perf_counter() - start) / 20 * 1000

    mul = run(lambda: w * y)
    aff = run(lambda: F.affine(F.reshape(w, (1, 1)), F.reshape(y, (1, y.size), inplace=False)))
    print(f"weighting one (8,8,32,32) op output, forward+backward: broadcast multiply "
          f"{mul:.2f} ms, affine {aff:.2f} ms")


def _forward_backward_us(build, shape, repeats: int = 200):
    """Microseconds of one forward and one backward of ``build(x)`` alone, ``x`` a
    leaf of ``shape`` holding normal random numbers (as a network's activations)."""
    import nnabla as nn
    x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(*shape).astype(np.float32),
                                     need_grad=True)
    y = build(x)
    y.forward()
    y.backward()
    start = time.perf_counter()
    for _ in range(repeats):
        y.forward()
    forward = (time.perf_counter() - start) / repeats * 1e6
    start = time.perf_counter()
    for _ in range(repeats):
        y.backward()
    return forward, (time.perf_counter() - start) / repeats * 1e6


def kernels() -> None:
    """nnabla CPU kernels behind two exact rewrites: ReLU as ``maximum_scalar``, and
    DARTS' FactorizedReduce shift as a strided slice instead of pad + slice; a
    depthwise convolution against the grouped convolution that computes the same;
    and batch normalization against an element-wise function."""
    import nnabla as nn
    import nnabla.functions as F
    from nnabla.ext_utils import get_extension_context
    nn.set_default_context(get_extension_context("cpu"))
    shape = (8, 8, 32, 32)  # a sampled DARTS path's activations at mini-batch 8
    w = nn.Variable.from_numpy_array(np.random.RandomState(1).randn(4, 8, 1, 1)
                                     .astype(np.float32))
    wd = nn.Variable.from_numpy_array(np.random.RandomState(2).randn(8, 3, 3)
                                      .astype(np.float32))
    stat = [nn.Variable.from_numpy_array(v((1, 8, 1, 1), np.float32))
            for v in (np.zeros, np.ones, np.zeros, np.ones)]
    cases = [
        ("ReLU: F.relu", lambda x: F.relu(x)),
        ("ReLU: F.maximum_scalar(x, 0)", lambda x: F.maximum_scalar(x, 0.0)),
        ("shifted 1x1 conv: pad + slice + stride-2 conv",
         lambda x: F.convolution(F.slice(F.pad(x, (0, 1, 0, 1)), (0, 0, 1, 1), (8, 8, 33, 33)),
                                 w, stride=(2, 2))),
        ("shifted 1x1 conv: strided slice + conv",
         lambda x: F.convolution(F.slice(x, (0, 0, 1, 1), shape, (1, 1, 2, 2)), w)),
        ("3x3 depthwise: F.depthwise_convolution",
         lambda x: F.depthwise_convolution(x, wd, pad=(1, 1))),
        ("3x3 depthwise: F.convolution(group=channels)",
         lambda x: F.convolution(x, F.reshape(wd, (8, 1, 3, 3)), pad=(1, 1), group=8)),
        ("batch normalization with batch statistics",
         lambda x: F.batch_normalization(x, *stat, batch_stat=True)),
        ("element-wise reference: F.add_scalar", lambda x: F.add_scalar(x, 1.0)),
    ]
    for name, build in cases:
        forward, backward = _forward_backward_us(build, shape)
        print(f"{name} on {shape}: forward {forward:.1f} us, backward {backward:.1f} us")


def build() -> None:
    """Building one sampled path of benchmark workload 2 (``init_channels`` 8, 5
    cells, mini-batch 8, model and loss): the time in all and the time inside
    ``nnabla.functions`` calls (each call creates and sets up one nnabla function;
    what is left is this package's Python: modules, sampling, bookkeeping), and the
    time nnabla takes to destroy the graph when it is dropped."""
    import collections
    import nnabla as nn
    import nnabla.function_bases as FB
    import nnabla.functions as F
    from nnabla.ext_utils import get_extension_context
    nn.set_default_context(get_extension_context("cpu"))
    inside = collections.Counter()
    calls = collections.Counter()

    def timed(owner, name):
        func = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                inside[name] += time.perf_counter() - start
                calls[name] += 1
        setattr(owner, name, wrapper)
        return func

    names = ("convolution", "depthwise_convolution", "relu", "maximum_scalar", "add2",
             "max_pooling", "average_pooling", "constant", "concatenate", "slice", "pad",
             "global_average_pooling", "affine", "mean", "softmax_cross_entropy")
    saved = [(F, n, timed(F, n)) for n in names] + \
        [(FB, "batch_normalization", timed(FB, "batch_normalization"))]
    from nnabla_nas.contrib import pnas
    np.random.seed(0)
    model = pnas.SearchNet(3, 8, 5, 10)
    model.apply(training=True)

    def one():
        x, t = nn.Variable((8, 3, 32, 32)), nn.Variable((8, 1))
        return model.loss(model(x), t)
    for _ in range(5):
        one()
    inside.clear()
    calls.clear()
    repeats = 100
    built = dropped = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        loss = one()
        middle = time.perf_counter()
        del loss  # the graph goes with its last reference
        built, dropped = built + middle - start, dropped + time.perf_counter() - middle
    for owner, name, func in saved:
        setattr(owner, name, func)
    total, in_f = built / repeats * 1e3, sum(inside.values()) / repeats * 1e3
    print(f"sampled-path build (workload 3): {total:.2f} ms, of which {in_f:.2f} ms inside "
          f"{sum(calls.values()) / repeats:.0f} nnabla.functions calls "
          f"({in_f / total * 100:.0f} %; timing wrappers included); dropping the "
          f"graph afterwards: {dropped / repeats * 1e3:.2f} ms")


def passes() -> None:
    """nnabla's time per function type in one sampled path of benchmark workload 2:
    a reward pass (forward in ``nn.no_grad()``, buffers freed as it goes, as the
    architecture step runs ten per step) and a weight step's forward and backward;
    means over 30 paths (function hooks around each function's forward/backward)."""
    import collections
    import nnabla as nn
    from nnabla_nas.contrib import pnas
    from nnabla_nas.runner.graph import build_graph
    nn.set_default_context(nn.Context(["cpu:float"], "0"))
    np.random.seed(0)
    model = pnas.SearchNet(3, 8, 5, 10)
    model.apply(training=True)
    for kind in ("reward pass", "weight step"):
        spent, calls, started = collections.Counter(), collections.Counter(), [0.0]

        def pre(f):
            started[0] = time.perf_counter()

        def post(f):
            spent[f.info.type_name] += time.perf_counter() - started[0]
            calls[f.info.type_name] += 1
        total, paths = 0.0, 30
        for _ in range(paths):
            if kind == "reward pass":
                with nn.no_grad():
                    graph = build_graph(model, 8, (3, 32, 32))
            else:
                graph = build_graph(model, 8, (3, 32, 32))
            graph.feed((np.random.rand(8, 3, 32, 32), np.random.randint(0, 10, (8, 1))))
            start = time.perf_counter()
            if kind == "reward pass":
                nn.forward_all([graph.loss, graph.error], clear_buffer=True,
                               function_pre_hook=pre, function_post_hook=post)
            else:
                nn.forward_all([graph.loss, graph.error], clear_no_need_grad=True,
                               function_pre_hook=pre, function_post_hook=post)
                graph.loss.backward(clear_buffer=True, function_pre_hook=pre,
                                    function_post_hook=post)
            total += time.perf_counter() - start
        top = ", ".join(f"{name} {seconds / paths * 1e3:.1f} ms ({calls[name] // paths})"
                        for name, seconds in spent.most_common(6))
        print(f"{kind} of one sampled path (workload 2): {total / paths * 1e3:.1f} ms; "
              f"by function (calls): {top}")


def split() -> None:
    """Where a ProxylessNAS step of benchmark workload 2 goes: nnabla's compute calls
    (``bench/harness.py``'s clock), graph building (``build_graph``) and the rest;
    medians of 15 steps after one warm-up."""
    import os
    import nnabla as nn
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import harness
    import ours_nas
    import nnabla_nas.runner.runner as runner
    nn.set_default_context(nn.Context(["cpu:float"], "0"))
    np.random.seed(0)
    nn.random.seed(0)
    building = [0.0]
    original = runner.build_graph

    def timed_build(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            building[0] += time.perf_counter() - start
    runner.build_graph = timed_build
    try:
        step = ours_nas.OursDriver().pnas_step(**harness.SIZES["small"])
        step()
        clock = harness.NnablaClock().install()
        rows = []
        for _ in range(15):
            building[0], inside = 0.0, clock.seconds
            start = time.perf_counter()
            step()
            total = time.perf_counter() - start
            rows.append((total, clock.seconds - inside, building[0]))
        clock.uninstall()
    finally:
        runner.build_graph = original
    total, inside, built = np.median(np.array(rows), axis=0)
    print(f"ProxylessNAS step (workload 2): {total * 1e3:.0f} ms = nnabla calls "
          f"{inside * 1e3:.0f} ms + graph building {built * 1e3:.0f} ms (11 graphs) + "
          f"other {(total - inside - built) * 1e3:.0f} ms (medians of 15 steps)")


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
    hp = Hparams(epoch=1, batch_size_train=16, batch_size_valid=16, n_iter=10,
                 output_path="/tmp/micro_searcher", quiet=True, recompute=recompute)
    opts = {"train": Optimizer(name="Momentum", lr=0.025, momentum=0.9),
            "valid": Optimizer(name="Adam", lr=3e-4)}
    runner = DartsSearcher if algorithm == "darts" else ProxylessNasSearcher
    return runner(model, opts, data, hp)
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
model = pnas.SearchNet(3, 16, 8, 10)
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
         else pnas.SearchNet(3, 16, 8, 10))
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
s = paper_searcher(pnas.SearchNet(3, 16, 8, 10), "pnas")
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
model = pnas.SearchNet(3, 16, 8, 10)
params = model.get_parameters().values()
rows.append((f"pnas.SearchNet(3, 16, 8, 10): {len(params)} parameter arrays, "
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
before = rss()
plain = [nn.Variable.from_numpy_array(np.zeros(s, np.float32)) for s in shapes]
print(f"the same {len(shapes)} arrays as plain nnabla Variables: +{rss() - before:.0f} MiB")
"""


def baseline() -> None:
    """RSS of a process before its first search step at the DARTS paper's size, piece
    by piece (what workload 4's two steps both start from), and what nnabla alone
    needs for the supernet's parameter arrays."""
    print(subprocess.run([sys.executable, "-c", BASELINE], capture_output=True, text=True,
                         check=True).stdout.strip())


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    print(f"machine: {platform.machine()}, {platform.system()} {platform.release()}, "
          f"python {platform.python_version()}; command: python bench/micro.py {which}")
    for name, job in (("fcall", fcall), ("mixing", mixing), ("kernels", kernels),
                      ("build", build), ("passes", passes), ("split", split), ("retention", retention),
                      ("buffers", buffers), ("memory", memory), ("steady", steady),
                      ("baseline", baseline)):
        if which in (name, "all"):
            job()


if __name__ == "__main__":
    main()
