"""`snapshot`: every piece of state a runner carries, as comparable values.

A checkpoint must restore a run exactly. :func:`snapshot` walks the live
objects of a runner generically (its attributes, and recursively those of
the model, its modules, the optimizers and their solvers, the data loaders)
and returns a flat dict ``path -> value`` in which arrays are bytes and
floats their hex form, so two snapshots compare bit for bit. Taken after a
checkpoint is saved and after it is loaded into a freshly built runner, the
two must be equal (:func:`differences` lists the paths that are not). As the
walk is generic, an attribute added to any of these objects is compared too:
forgetting to checkpoint it fails that comparison instead of passing silently.

What is deliberately left out is listed in :data:`TRANSIENT`, each with the
reason it does not influence what the run computes next.
"""

import hashlib
from typing import Dict, List

import nnabla as nn
import numpy as np

#: Attribute names that hold no state of the computation, with the reason.
TRANSIENT = {
    "_reporter": "open log files and progress bars",
    "_graphs": "built graphs, a cache rebuilt identically on first use",
    "seconds": "wall-clock time",
    "_stop_signal": "a pending stop request of this process",
    "_input_shapes": "rewritten by every call of the module",
    "_cached": "a shared ReLU's output, dropped after each build",
    "_active": "the last draw of a MixedOp, rewritten by the next build",
    "_probs": "the probabilities of that last draw",
    "_fixed": "alphas frozen inside one architecture step",
    "_score": "the score of a MixedOp's last planned draw, rewritten by the next build",
    "_planned": "a draw a caller planned for the next build, used by that build",
    "_binary": "the gated pair of a MixedOp's last binary-gates build",
    "_gates": "the binary gates of one architecture step",
    "_training": "set at the start of every step and evaluation",
    "_need_grad": "a module's flag: fixed at construction, or a MixedOp's draw, "
                  "rewritten by the next build (parameters' flags are compared)",
    "end_hooks": "functions the composition root adds, called when the run ends",
    "arch_parameters": "a runner's view of the model's parameters (cached walk)",
    "net_parameters": "a runner's view of the model's parameters (cached walk)",
    "mixed_ops": "a runner's view of the model's choice points (cached walk)",
    "score_sum": "offsets derived from the model's structure (cached)",
    "batch_statistics": "a runner's view of the batch-norm statistics (cached walk)",
}

#: Arrays larger than this are compared through their SHA-256 digest.
_DIGEST_BYTES = 4096


def _array(a: np.ndarray) -> tuple:
    data = np.ascontiguousarray(a).tobytes()
    if len(data) > _DIGEST_BYTES:
        data = hashlib.sha256(data).hexdigest()
    return ("array", a.dtype.str, tuple(a.shape), data)


def _solver_state(state) -> dict:
    """A ``nnabla`` ``SolverState``: step counter and per-parameter buffers."""
    return {"t": int(state.t), **{k: _array(v.d) for k, v in state.pstate.items()}}


class _Walker:
    def __init__(self):
        self.out: Dict[str, object] = {}
        self.seen: Dict[int, str] = {}

    def walk(self, path: str, obj) -> None:
        out = self.out
        if obj is None or isinstance(obj, (bool, int, str, bytes)):
            out[path] = obj
            return
        if isinstance(obj, float):
            out[path] = ("float", obj.hex())
            return
        if isinstance(obj, np.generic):
            out[path] = _array(np.asarray(obj))
            return
        if isinstance(obj, (type, type(len), type(self.walk))) or callable(obj) and \
                not hasattr(obj, "__dict__"):
            out[path] = ("callable", getattr(obj, "__qualname__", type(obj).__name__))
            return
        key = id(obj)
        if key in self.seen:  # shared (an alpha in several MixedOps) or a cycle
            out[path] = ("same as", self.seen[key])
            return
        self.seen[key] = path
        if isinstance(obj, np.ndarray):
            out[path] = _array(obj)
        elif isinstance(obj, nn.Variable):  # Parameters too; gradients are zeroed before use
            out[path] = ("variable", bool(obj.need_grad), _array(obj.d))
        elif isinstance(obj, np.random.RandomState):
            name, keys, pos, has_gauss, gauss = obj.get_state()
            out[path] = ("random state", name, _array(keys), pos, has_gauss, float(gauss).hex())
        elif isinstance(obj, nn.solver.Solver):
            self.walk_solver(path, obj)
        elif isinstance(obj, dict):
            out[f"{path}.keys"] = [str(k) for k in obj]
            for k, v in obj.items():
                self.walk(f"{path}[{k}]", v)
        elif isinstance(obj, (list, tuple)):
            out[f"{path}.len"] = len(obj)
            for i, v in enumerate(obj):
                self.walk(f"{path}[{i}]", v)
        elif isinstance(obj, (set, frozenset)):
            out[path] = sorted(map(repr, obj))
        elif type(obj).__name__ == "SolverState":
            out[path] = _solver_state(obj)
        elif hasattr(obj, "__dict__"):
            out[f"{path}.type"] = type(obj).__qualname__
            for name, value in vars(obj).items():
                if name not in TRANSIENT:
                    self.walk(f"{path}.{name}", value)
        else:
            out[path] = ("opaque", type(obj).__qualname__)

    def walk_solver(self, path: str, solver) -> None:
        """An nnabla solver (no ``__dict__``): its hyperparameters, registered
        parameters and their states with step counters.

        Left out: the order of its parameters (a hash-map order that depends on
        the registration history; :class:`~nnabla_nas.optimizer.Optimizer` keeps
        its own) and its learning rate (set before every update from the
        optimizer's schedule).
        """
        out = self.out
        out[f"{path}.type"] = type(solver).__qualname__
        out[f"{path}.info"] = repr({k: v for k, v in solver.info.items()
                                    if k not in ("lr", "alpha")})  # alpha: Adam's lr
        states = solver.get_states()
        for name in sorted(states):
            out[f"{path}.states[{name}]"] = _solver_state(states[name])


def snapshot(runner) -> Dict[str, object]:
    """Every piece of state ``runner`` carries (see the module docstring), plus
    numpy's global random state and nnabla's parameter random state."""
    walker = _Walker()
    walker.walk("runner", runner)
    walker.walk("numpy.random", np.random.mtrand._rand)
    walker.walk("nnabla.random.prng", nn.random.prng)
    return walker.out


def differences(a: Dict[str, object], b: Dict[str, object]) -> List[str]:
    """The paths whose values differ between two snapshots (or exist in one only)."""
    return [k for k in sorted(set(a) | set(b)) if a.get(k, KeyError) != b.get(k, KeyError)]
