"""Micro-benchmarks behind the optimisation notes in docs/benchmarks.md.

Usage: ``python bench/micro.py [fcall|mixing|kernels|build|passes|split|retention|buffers|memory|steady|baseline|all]``.
Each figure is measured in this process (``mixing``, ``kernels``, ``build``,
``passes``, ``split``) or in subprocesses (``fcall``: one without and one with the
import shortcuts; ``retention``, ``buffers``, ``memory``, ``steady`` and
``baseline``, in ``micro_memory.py``: one per variant), on the CPU context.
"""

import platform
import subprocess
import sys
import time

import numpy as np

from micro_memory import baseline, buffers, memory, retention, steady


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
from nnabla_nas.utils import import_cache
import_cache.install()  # as set_context() does when a run starts
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
    from nnabla_nas.utils import import_cache
    import_cache.install()
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
    model = pnas.SearchNet(3, 8, 5, 10, sampling="edges")
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
    model = pnas.SearchNet(3, 8, 5, 10, sampling="edges")
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
