"""Does the ProxylessNAS supernet learn? The table of issue #18, rerun.

``learn``: on 350 real photos of ``natural10_dev.npz`` (the same 350 for every
run), a plain nnabla training loop over ``pnas.SearchNet`` (init_channels 8,
5 cells, batch 32, Momentum lr 0.025 momentum 0.9, 110 weight steps, batch
normalization in training mode), once per variant and seed:

* ``fixed``: one fixed random path (``mode="max"`` over random normal alphas);
* ``edges``: a new path every step, every edge drawing one of all 8 candidates
  (the older package's sampling);
* ``edges-no-none``, ``edges-mean``, ``nodes``: the other ``sampling`` values of
  ``pnas.SearchNet`` (:mod:`nnabla_nas.contrib.classification.darts.sampling`);
* ``<sampling>x<K>``: K paths per step on the same batch, their gradients summed
  before the one update (FairNAS; K times the work);
* ``<sampling>-same``: a control, the sampled code path drawing the same path
  every step;
* ``<sampling>/<limit>/...``: diagnostics that narrow what a path may vary in
  (:func:`restrict`): ``nodes/fixed-inputs`` (operations vary, inputs fixed),
  ``nodes/fixed-ops`` (inputs vary, operations fixed), ``nodes/<ops>``
  (operations only from ``<ops>``: ``convs``, ``free``, ``sep3`` or names
  joined by ``+``), ``.../shared`` (``share_kernels=True``: the 3x3
  convolutions on the centres of the 5x5 ones' kernels), ``.../dirac`` (an
  experiment: the edges' pointwise convolutions start near the identity) and
  ``.../sandwich`` (each step also trains the largest path, the owners of the
  shared kernels, and adds its gradient: the sandwich rule; its error is not
  counted; meant for ``mobilenet``, whose blocks draw their own paths);
* ``mobilenet``, ``mobilenet-fixed``, ``mobilenet-same`` and their ``/...``
  forms: the same in a small MobileNetV2 space (:data:`MOBILENET`), separate
  weights unless ``/shared``.

After training, each run is also scored on 320 photos of the file it never
trained on, each batch through a path drawn as in training (the
"held-out" column).

It prints the mean train error of steps 1-22, 45-66 and 89-110 (the error of
each batch before its update) as mean ± sample std over the seeds, and writes
the table to ``bench/results/pnas_learning-<stamp>.md`` and ``.json``.

``planted``: architecture steps each gradient estimator needs on the planted
problem of ``tests/runner/test_pnas.py`` (eight operations, one best).

``memory``: peak and current RSS of a paper-size ProxylessNAS search (init_channels
16, 8 cells, mini-batch 16, n_iter 10; random images) after each of 50 steps.

    python bench/pnas_learning.py learn --seeds 0 1 2
    python bench/pnas_learning.py learn --variants fixed nodes --seeds 0   # a subset
    python bench/pnas_learning.py learn --variants nodes/fixed-ops nodes/convs nodes/shared
    python bench/pnas_learning.py memory --steps 50 --sampling nodes
    python bench/pnas_learning.py planted      # REINFORCE vs binary gates, planted op
    python bench/pnas_learning.py bnstats SEARCH_DIR   # rewards: batch vs running stats
"""

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from micro_memory import RSS, SEARCHER  # noqa: E402
from search_quality import DEFAULT_DATA, RESULTS, ROOT, machine, mean_std  # noqa: E402

def windows(steps: int = 110):
    """The steps averaged in the table: the first, middle and last fifth
    (1-22, 45-66 and 89-110 for the issue's 110 steps)."""
    return ((1, round(0.2 * steps)), (round(0.4 * steps) + 1, round(0.6 * steps)),
            (round(0.8 * steps) + 1, steps))
VARIANTS = ("fixed", "edges", "edges-no-none", "edges-mean", "nodes", "edgesx2", "nodesx2")


def photos(path: str, n: int = 350, seed: int = 0, held: int = 320):
    """The same ``n`` photos for every run (a seeded draw from the file), and
    ``held`` other photos of the file, which no run trains on."""
    data = np.load(path)
    index = np.random.RandomState(seed).permutation(len(data["y"]))
    train, other = index[:n], index[n:n + held]
    return (data["x"][train], data["y"][train]), (data["x"][other], data["y"][other])


def train_errors(variant: str, seed: int, x, y, steps: int = 110, batch: int = 32,
                 channels: int = 8, cells: int = 5, held=None):
    """Train errors of ``steps`` weight steps of ``variant``; returns (errors,
    seconds, held-out error). The held-out error is that of the trained
    supernet on the photos ``held = (x, y)``, one mini-batch of ``batch`` at a
    time, each through a path drawn as in training, with batch statistics (as
    the architecture step's reward passes); None without ``held``."""
    import nnabla as nn

    from nnabla_nas import module as Mo
    from nnabla_nas.contrib import pnas
    from nnabla_nas.dataset import DataLoader
    from nnabla_nas.dataset.data import channel_stats
    from nnabla_nas.optimizer import Optimizer
    from nnabla_nas.runner.graph import build_graph

    variant, *limits = variant.split("/")
    sampling, _, paths = variant.rpartition("x") if variant[-1].isdigit() else (variant, "", "1")
    paths = int(paths)
    np.random.seed(seed)
    nn.seed(seed)
    nn.clear_parameters()
    if sampling.startswith("mobilenet"):
        from nnabla_nas.contrib import mobilenet
        model = mobilenet.SearchNet(10, mode="max" if sampling.endswith("fixed") else "sample",
                                    share_kernels="shared" in limits, **MOBILENET)
    elif sampling == "fixed":
        model = pnas.SearchNet(3, channels, cells, 10, mode="max")
    else:
        model = pnas.SearchNet(3, channels, cells, 10, sampling=sampling.replace("-same", ""),
                               share_kernels="shared" in limits)
        if "dirac" in limits:  # experiment: pointwise convolutions of the edges start as identity
            rng = np.random.RandomState(seed)
            for _, cell in model.get_modules():
                if isinstance(cell, Mo.MixedOp):
                    for _, conv in cell.get_modules():
                        if isinstance(conv, Mo.Conv) and conv._W.shape[2:] == (1, 1) and \
                                conv._W.shape[0] == conv._W.shape[1]:
                            c = conv._W.shape[0]
                            conv._W.d = (np.eye(c) + rng.uniform(-0.1, 0.1, (c, c))).reshape(
                                conv._W.shape)
    sandwich = "sandwich" in limits
    register_all, sgd = "allparams" in limits, "sgd" in limits  # (diagnostics of the solver)
    limits = [name for name in limits
              if name not in ("shared", "dirac", "sandwich", "allparams", "sgd")]
    if sampling.endswith("fixed"):  # one random path: the argmax of random alphas
        rng = np.random.RandomState(seed)
        for alpha in model.get_arch_parameters().values():
            alpha.d = rng.randn(*alpha.shape)
    if limits:
        restrict(model, limits, np.random.RandomState(seed))
    model.apply(training=True)
    # "<sampling>-same": the sampled code path, but every step draws the same path
    # (each MixedOp's random state is rewound before each build): a control.
    rngs = [m.rng for _, m in model.get_modules() if hasattr(m, "rng")]
    first = [r.get_state() for r in rngs] if sampling.endswith("-same") else None
    mean, std = channel_stats(x)
    loader = DataLoader(x, y, batch, shuffle=True, rng=seed, mean=mean, std=std)
    opt = Optimizer(name="Sgd", lr=0.025) if sgd else \
        Optimizer(name="Momentum", lr=0.025, momentum=0.9)
    arch = list(model.get_arch_parameters().values())
    for alpha in arch:
        alpha.need_grad = False
    net = model.get_net_parameters()
    errors = []
    start = time.perf_counter()
    for _ in range(steps):
        batch_xy = loader.next()
        for p in net.values():
            p.grad.zero()
        used, err = {}, 0.0
        if sandwich:  # the largest path first, its gradient added to the sampled one's
            for mixed in model.get_modules():
                if isinstance(mixed[1], Mo.MixedOp):
                    m = mixed[1]
                    m.plan(largest(m), np.zeros(len(m.ops)))
            graph = build_graph(model, batch, x.shape[-1:] + x.shape[1:3])
            used.update(model.get_net_parameters(grad_only=True))
            graph.feed(batch_xy)
            graph.forward()
            graph.loss.backward(clear_buffer=True)
            del graph
        for _ in range(paths):
            for r, state in zip(rngs, first or ()):
                r.set_state(state)
            graph = build_graph(model, batch, x.shape[-1:] + x.shape[1:3])
            used.update(model.get_net_parameters(grad_only=True))
            graph.feed(batch_xy)
            _, e = graph.forward()
            graph.loss.backward(clear_buffer=True)  # summed over paths, as FairNAS does
            err += e / paths
            del graph
        opt.set_parameters(model.get_net_parameters() if register_all else used)
        opt.update()
        errors.append(err)
    seconds = time.perf_counter() - start
    if held is None:
        return errors, seconds, None
    heldout = DataLoader(*held, batch, shuffle=False, mean=mean, std=std)
    held_errors = []
    with nn.no_grad():
        for _ in range(len(held[1]) // batch):
            for r, state in zip(rngs, first or ()):
                r.set_state(state)
            graph = build_graph(model, batch, x.shape[-1:] + x.shape[1:3])
            graph.feed(heldout.next())
            held_errors.append(graph.forward()[1])
            del graph
    return errors, seconds, float(np.mean(held_errors))


#: The MobileNetV2 space of the ``mobilenet`` and ``mobilenet-fixed`` variants:
#: a small stage table for 32x32 photos (7 searched blocks).
MOBILENET = dict(width_mult=0.5, settings=((16, 1, 1), (24, 2, 2), (32, 2, 2), (64, 2, 2)),
                 stem_stride=1)

def largest(mixed) -> int:
    """The operator of ``mixed`` whose weights the most others read (with
    shared kernels, the owner of the superkernel; otherwise the first)."""
    counts = [sum(k in lent for lent in mixed.lenders()) for k in range(len(mixed.ops))]
    return int(np.argmax(counts))


#: Operation sets a diagnostic variant may restrict the paths to.
OP_SETS = {"convs": ("dil_conv_3x3", "dil_conv_5x5", "sep_conv_3x3", "sep_conv_5x5"),
           "free": ("max_pool_3x3", "avg_pool_3x3", "skip_connect"),
           "sep3": ("sep_conv_3x3",)}


def restrict(model, limits, rng: np.random.RandomState) -> None:
    """Diagnostic variants ``nodes/<limit>/...``: narrows what the ``nodes``
    draw can vary by setting alphas (the draw reads ``softmax(alpha)``):

    * ``fixed-inputs``: every node reads two fixed random inputs (the other
      edges' ``none`` gets alpha 30, so they are never drawn); the operations
      still vary;
    * ``fixed-ops``: every edge has one fixed random operation (the others get
      alpha -30); the inputs still vary;
    * ``convs``, ``free``, ``sep3`` (:data:`OP_SETS`) or operation names, joined
      by ``+``: operations only from that set.
    """
    from nnabla_nas.contrib.classification.darts.cells import SearchCell
    from nnabla_nas.contrib.classification.darts.ops import CANDIDATES
    none = CANDIDATES.index("none")
    allowed = [k for k in range(len(CANDIDATES)) if k != none]
    for name in limits:
        if name not in ("fixed-inputs", "fixed-ops"):  # "sep3+free", "sep_conv_5x5"...
            allowed = sorted({CANDIDATES.index(op) for part in name.split("+")
                              for op in OP_SETS.get(part, (part,))})
    for _, cell in model.get_modules():
        if not isinstance(cell, SearchCell):
            continue
        for node in range(cell._num_nodes):
            inputs = rng.choice(node + 2, 2, replace=False)
            for j in range(node + 2):
                alpha = np.full(len(CANDIDATES), -30.0)
                alpha[allowed] = 0.0
                if "fixed-ops" in limits:
                    alpha[:] = -30.0
                    alpha[rng.choice(allowed)] = 0.0
                if "fixed-inputs" in limits and j not in inputs:
                    alpha[none] = 30.0
                cell.edge(node, j).alpha.d = alpha.reshape(cell.edge(node, j).alpha.shape)


def learn(a) -> None:
    (x, y), held = photos(a.data, a.n)
    spans = windows(a.steps)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    rows, raw = [], {}
    for variant in a.variants:
        per_seed, seconds, heldout = [], [], []
        for seed in a.seeds:
            errors, sec, held_error = train_errors(variant, seed, x, y, a.steps, held=held)
            per_seed.append([float(np.mean(errors[lo - 1:hi])) for lo, hi in spans])
            seconds.append(sec)
            heldout.append(held_error)
            print(f"{variant:>14} seed {seed}: " +
                  " ".join(f"{e:.3f}" for e in per_seed[-1]) +
                  f"  held-out {held_error:.3f}  ({sec:.0f} s)", flush=True)
        raw[variant] = {"windows": per_seed, "seconds": seconds, "held_out": heldout}
        cells = [mean_std([s[w] for s in per_seed]) for w in range(len(spans))]
        rows.append((variant, cells + [mean_std(heldout)], float(np.mean(seconds))))
    head = ("| variant | " + " | ".join(f"steps {lo}-{hi}" for lo, hi in spans) +
            " | held-out | s / run |\n|---|" + "---:|" * (len(spans) + 2))
    lines = [f"| {v} | " + " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in cells) +
             f" | {sec:.0f} |" for v, cells, sec in rows]
    m = machine()
    text = "\n".join([
        f"Train error of {a.steps} weight steps (mean ± sample std over seeds "
        f"{' '.join(map(str, a.seeds))}); {a.n} photos of {os.path.basename(a.data)}, "
        "batch 32, Momentum lr 0.025 momentum 0.9, pnas.SearchNet(3, 8, 5, 10). Chance 0.9. "
        f"Held-out: error after training on {len(held[1])} other photos of the file, "
        "each batch through a path drawn as in training, batch statistics.",
        "", head, *lines, "",
        f"Machine: {m['cpu']}, {m['cores']} cores (shared), Python {m['python']}; "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
        f"Command: python bench/pnas_learning.py {' '.join(sys.argv[1:])}"])
    print()
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    out = os.path.join(RESULTS, f"pnas_learning-{stamp}-{os.getpid()}")  # (runs side by side)
    with open(out + ".md", "w") as f:
        f.write(text + "\n")
    with open(out + ".json", "w") as f:
        json.dump({"argv": sys.argv[1:], "machine": m, "windows": spans, "runs": raw}, f,
                  indent=1)
    print(f"wrote {os.path.relpath(out, ROOT)}.md and .json")


MEMORY = RSS + SEARCHER + r"""
import resource, sys
import nnabla as nn
nn.set_default_context(nn.Context(["cpu:float"], "0"))
from nnabla_nas.contrib import pnas
np.random.seed(0)
s = paper_searcher(pnas.SearchNet(3, 16, 8, 10, sampling=sys.argv[2]), "pnas")
for step in range(int(sys.argv[1])):
    s.train_on_batch()
    s.valid_on_batch()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{step + 1} {peak} {rss(release=False):.0f} {rss():.0f}", flush=True)
"""


def memory(a) -> None:
    """Peak RSS (``ru_maxrss``), current RSS, and current RSS with the allocator
    caches handed back, after each step of a paper-size search."""
    print(f"ProxylessNAS search (init_channels 16, 8 cells, mini-batch 16, n_iter 10), "
          f"sampling {a.sampling}: step, peak RSS, RSS, RSS after releasing caches (MiB)")
    proc = subprocess.run([sys.executable, "-c", MEMORY, str(a.steps), a.sampling],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    rows = [list(map(int, line.split())) for line in proc.stdout.split("\n") if line.strip()]
    for row in rows:
        print(" ".join(map(str, row)))
    peaks, released = [r[1] for r in rows], [r[3] for r in rows]
    half = len(rows) // 2
    print(f"peak after step 5 / {half} / {len(rows)}: {peaks[min(4, len(rows) - 1)]} / "
          f"{peaks[half - 1]} / {peaks[-1]} MiB; released RSS steps 1-{half} mean "
          f"{np.mean(released[:half]):.0f}, steps {half + 1}-{len(rows)} mean "
          f"{np.mean(released[half:]):.0f} MiB; machine {machine()['cpu']}")


def planted(a) -> None:
    """Architecture steps until the planted best of eight operations has
    probability 0.8 (the problem of tests/runner/test_pnas.py), per estimator."""
    import tempfile
    sys.path.insert(0, os.path.join(ROOT, "tests", "runner"))
    import test_pnas as T
    tmp = tempfile.mkdtemp(prefix="pnas_planted_")
    print(f"steps to p(planted op) >= 0.8 (limit {a.limit}), Adam lr {a.lr}, seeds {a.seeds}")
    for estimator, n_iter in (("reinforce", 2), ("reinforce", 4), ("binary_gates", 1)):
        steps = []
        for seed in a.seeds:
            model = T.KnownRewards(T.planted_ops(), rng=np.random.RandomState(seed))
            s = T.searcher(os.path.join(tmp, f"{estimator}{n_iter}-{seed}"), model, seed,
                           n_iter=n_iter, lr=a.lr, gradient_estimator=estimator)
            steps.append(a.limit + 1)
            for step in range(1, a.limit + 1):
                s.valid_on_batch()
                if model.choice.probabilities()[1] >= 0.8:
                    steps[-1] = step
                    break
        print(f"{estimator:>12} n_iter {n_iter}: {steps}  (mean {np.mean(steps):.1f})")


def bnstats(a) -> None:
    """Reward of sampled paths of a finished ``pnas`` search on its search-valid
    split, with batch normalization on the batch's statistics (what the
    architecture step uses) and on the running ones."""
    import nnabla as nn

    from nnabla_nas.contrib import pnas
    from nnabla_nas.dataset import build_dataset, make_loaders
    from nnabla_nas.runner.graph import build_graph
    with open(os.path.join(a.search, "config.json")) as f:
        config = json.load(f)
    options = dict(config["network"]["pnas"])
    options.pop("mode", None)
    net = pnas.SearchNet(**options)
    net.load_parameters(os.path.join(a.search, "weights.h5"))
    net.load_parameters(os.path.join(a.search, "arch.h5"))
    loaders = make_loaders(build_dataset(config["dataloader"]), "search", a.batch, a.batch)
    batches = [loaders["valid"].next() for _ in range(a.batches)]
    rngs = [m.rng for _, m in net.get_modules() if hasattr(m, "rng")]
    acc = {"batch statistics": [], "running statistics": []}
    for _ in range(a.paths):
        states = [r.get_state() for r in rngs]
        for kind, training in (("batch statistics", True), ("running statistics", False)):
            for r, state in zip(rngs, states):  # the same path for both
                r.set_state(state)
            net.apply(training=training)
            with nn.no_grad():
                graph = build_graph(net, a.batch, batches[0][0].shape[1:])
            errors = []
            for batch in batches:
                graph.feed(batch)
                errors.append(graph.forward(clear_buffer=True)[1])
            acc[kind].append(1 - float(np.mean(errors)))
    print(f"{a.paths} sampled paths of {a.search}, {a.batches} valid batches of {a.batch}:")
    for kind, values in acc.items():
        print(f"  reward (accuracy) with {kind}: mean {np.mean(values):.3f}, "
              f"min {np.min(values):.3f}, max {np.max(values):.3f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="task", required=True)
    q = sub.add_parser("learn")
    q.add_argument("--data", default=DEFAULT_DATA)
    q.add_argument("--n", type=int, default=350)
    q.add_argument("--steps", type=int, default=110)
    q.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    q.add_argument("--variants", nargs="+", default=list(VARIANTS))
    r = sub.add_parser("memory")
    r.add_argument("--steps", type=int, default=50)
    r.add_argument("--sampling", default="nodes")
    t = sub.add_parser("planted")
    t.add_argument("--seeds", type=int, nargs="+", default=list(range(6)))
    t.add_argument("--lr", type=float, default=0.2)
    t.add_argument("--limit", type=int, default=200)
    b = sub.add_parser("bnstats")
    b.add_argument("search", help="folder of a finished pnas search (config.json, "
                                   "weights.h5, arch.h5)")
    b.add_argument("--paths", type=int, default=20)
    b.add_argument("--batches", type=int, default=4)
    b.add_argument("--batch", type=int, default=64)
    a = p.parse_args(argv)
    {"learn": learn, "memory": memory, "planted": planted, "bnstats": bnstats}[a.task](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
