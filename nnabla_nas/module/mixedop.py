"""`MixedOp`: the choice point of a search space.

References:
    Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019.
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019.
"""

import bisect
import itertools
import math
from contextlib import contextmanager
from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Sequence, Tuple

import nnabla as nn
import nnabla.functions as F
import numpy as np

from .container import ModuleList
from .module import Module
from .parameter import Parameter
from .zero import Zero

MODES = ("full", "sample", "max")


def softmax(alpha: np.ndarray) -> np.ndarray:
    """Softmax of the flattened ``alpha`` in float64 (sums to one exactly enough
    for :meth:`numpy.random.RandomState.choice`)."""
    return np.array(_softmax(np.ravel(alpha).tolist()))


def _softmax(values: List[float]) -> List[float]:
    # Python floats: for the handful of operators of a choice point this is
    # several times cheaper than numpy's per-call overhead (and it runs once
    # per MixedOp per graph build); fsum makes the total exactly rounded.
    top = max(values)
    e = [math.exp(v - top) for v in values]
    total = math.fsum(e)
    if not (math.isfinite(total) and total > 0):
        raise ValueError(f"architecture weights are not finite numbers: {values}")
    return [v / total for v in e]


def draw(rng: np.random.RandomState, p: Sequence[float]) -> int:
    """One index from ``Categorical(p)``: exactly ``rng.choice(len(p), p=p)`` (the
    same algorithm and random numbers: inverse CDF of one ``random_sample``; the
    cumulative sum is sequential in float64 as numpy's), without its argument
    checks, which cost more than the draw."""
    return _search(_cdf(p), rng)


def _search(cdf: Sequence[float], rng: np.random.RandomState) -> int:
    # The inverse-CDF step of draw(), for a CDF computed beforehand.
    return bisect.bisect_right(cdf, rng.random_sample())


def _cdf(p: Sequence[float]) -> List[float]:
    # The normalised cumulative sum numpy's choice() searches.
    cdf = list(itertools.accumulate(float(v) for v in p))
    last = cdf[-1]
    return [c / last for c in cdf]


def scores(draws: Sequence[Tuple[Sequence[float], int]]) -> np.ndarray:
    """``softmax - onehot(index)`` of each ``(probabilities, index)`` draw (see
    :attr:`MixedOp.last_draw`), concatenated into one float64 vector: the
    gradients of ``-log p(index)``."""
    values = np.array([v for p, _ in draws for v in p], dtype=np.float64)
    hits, start = [], 0
    for p, index in draws:
        hits.append(start + index)
        start += len(p)
    values[hits] -= 1.0
    return values


def weighted_sum(weights: nn.Variable, terms: Iterable[Tuple[int, nn.Variable]]) -> nn.Variable:
    """``sum_k weights[k] * y_k`` over the ``(k, y_k)`` of ``terms`` (all of one
    shape): the mixture of :class:`MixedOp`'s ``full`` mode.

    Args:
        weights: The weights along axis 0, any trailing axes of size 1 (a
            softmax over an ``alpha`` of shape ``(n, 1, 1, 1, 1)``, say).
        terms: ``(index into weights, Variable)`` pairs, at least one. A
            generator is consumed one term at a time, so each term's graph is
            built just before it is weighted.
    """
    out = shape = None
    tail = tuple(weights.shape[1:])
    for k, y in terms:
        shape = y.shape
        w = F.slice(weights, start=(k,) + (0,) * len(tail), stop=(k + 1,) + tail)
        # w * y as a (1, 1) x (1, size) matrix product: the same products as a
        # broadcast multiply, an order of magnitude faster in nnabla on CPU.
        # Terms are summed flat and reshaped once (a reshape per term would
        # keep one more buffer per term alive until the backward pass).
        term = F.affine(F.reshape(w, (1, 1)), F.reshape(y, (1, y.size), inplace=False))
        out = term if out is None else out + term
    assert out is not None, "weighted_sum of no terms"
    return F.reshape(out, shape)


@contextmanager
def binary_gates(mixed_ops: Iterable["MixedOp"]) -> Iterator[None]:
    """Within the block, a ``sample`` call of each of ``mixed_ops`` builds two
    operators behind binary gates (ProxylessNAS' gradient mode): it draws two
    distinct operators ``a, b`` from ``softmax(alpha)``, opens the gate of one
    of them with the probabilities ``r`` of the two renormalised, and outputs
    ``g_a * op_a(x) + g_b * op_b(x)`` (the open gate is 1, the other 0: the
    value of one path). After a backward pass, :attr:`MixedOp.gate_gradient`
    turns the gates' gradients into the gradient of the loss with respect to
    ``alpha``: ``dL/dalpha_i = sum_j dL/dg_j r_j (delta_ij - r_i)`` for ``i, j``
    in the pair, zero elsewhere."""
    ops = list(mixed_ops)
    for m in ops:
        m.__dict__["_gates"] = True
    try:
        yield
    finally:
        for m in ops:
            m.__dict__.pop("_gates", None)


@contextmanager
def fixed_alphas(mixed_ops: Iterable["MixedOp"]) -> Iterator[None]:
    """Within the block, the architecture weights of ``mixed_ops`` are taken as
    fixed: each MixedOp reads its ``alpha`` and computes its probabilities
    once, on its first ``sample``/``max`` call, instead of on every call, and
    does not write ``alpha.g`` (:attr:`MixedOp.score` has the same values).

    For a runner that builds many paths between two updates of the weights
    and sums the scores itself (ProxylessNAS' architecture step builds ten):
    the draws and scores are those of plain calls, bit for bit, without two
    array copies through nnabla per choice point and build. Do not change an
    ``alpha`` inside the block.
    """
    ops = list(mixed_ops)
    outer = [m.__dict__.get("_fixed") for m in ops]
    for m in ops:
        m.__dict__["_fixed"] = {}
    try:
        yield
    finally:
        for m, saved in zip(ops, outer):  # (a nested block gives the outer one back)
            if saved is None:
                m.__dict__.pop("_fixed", None)
            else:
                m.__dict__["_fixed"] = saved


def _lenders(ops: List[Module]) -> Tuple[List[Tuple[int, ...]],
                                        List[Dict[int, FrozenSet[str]]]]:
    """:meth:`MixedOp.lenders` of the operators ``ops`` (their structure is
    fixed, so it is computed once), and for each operator ``i`` and each of
    its lenders ``k``: the names (in ``k``) of the modules of ``k`` that ``i``
    reads the weights of."""
    where = {id(m): k for k, op in enumerate(ops) for _, m in op.get_modules()}
    names = [{id(m): name for name, m in op.get_modules()} for op in ops]
    lenders, reads = [], []
    for i, op in enumerate(ops):
        read: Dict[int, set] = {}
        for _, m in op.get_modules():
            k = where.get(id(m.owner)) if "_owner" in m.__dict__ else None
            if k is not None and k != i:
                read.setdefault(k, set()).add(names[k][id(m.owner)])
        lenders.append(tuple(sorted(set(read) | {i})))
        reads.append({k: frozenset(v) for k, v in read.items()})
    return lenders, reads


class MixedOp(Module):
    """Chooses among candidate operators, with architecture weights ``alpha``.

    Modes:
        * ``full`` (DARTS): ``sum_k softmax(alpha)_k * op_k(x)``, differentiable
          in ``alpha`` and in every operator's weights. Outputs are summed one
          by one (no stacked copy of all outputs), and :class:`Zero` operators,
          whose term is exactly zero, are not built at all.
        * ``sample`` (ProxylessNAS): draws ``k ~ Categorical(softmax(alpha))``
          with :attr:`rng`, builds only ``op_k``, marks the other operators
          ``need_grad=False`` and sets ``alpha.g = softmax(alpha) - onehot(k)``,
          the gradient of ``-log p(k)`` used by REINFORCE.
        * ``max``: as ``sample`` with ``k = argmax(alpha)``.

    Args:
        operators: Candidate modules, all mapping the input to the same shape.
        mode: ``full``, ``sample`` or ``max``.
        alpha: Architecture weights of shape ``(len(operators), 1, 1, 1, 1)``;
            pass the same Parameter to several MixedOps to share it. Created
            (zeros) when None.
        rng: Random state for sampling (default: one seeded from numpy's
            global random state, so ``np.random.seed`` makes runs repeatable).
    """

    is_choice = True

    def __init__(self, operators: Sequence[Module], mode: str = "full",
                 alpha: Optional[Parameter] = None,
                 rng: Optional[np.random.RandomState] = None):
        if mode not in MODES:
            raise ValueError(f"MixedOp mode must be one of {', '.join(MODES)}, got '{mode}'")
        self._ops = ModuleList(operators)
        if len(self._ops) == 0:
            raise ValueError("MixedOp needs at least one operator")
        shape = (len(self._ops), 1, 1, 1, 1)
        if alpha is None:
            alpha = Parameter(shape)
        elif tuple(alpha.shape) != shape:
            raise ValueError(f"alpha has shape {tuple(alpha.shape)}, expected {shape}")
        alpha.is_arch = True
        self._alpha = alpha
        self.mode = mode
        self.rng = rng if rng is not None else np.random.RandomState(
            np.random.randint(2 ** 31 - 1))
        self._active = None
        self.__dict__["_lenders"], self.__dict__["_reads"] = _lenders(
            list(self._ops.modules.values()))
        self.__dict__["_hidden"] = ()  # (operator, module name) pairs _mark() hid

    @property
    def ops(self) -> ModuleList:
        """The candidate operators, in index order."""
        return self._ops

    @property
    def alpha(self) -> Parameter:
        """The architecture weights, shape ``(len(ops), 1, 1, 1, 1)`` (possibly
        shared with other MixedOps)."""
        return self._alpha

    def path_children(self):
        """The operators the last call built: all of them in ``full`` mode, the
        chosen one in ``sample``/``max`` mode, none before any call.

        Raises:
            ValueError: In ``sample``/``max`` mode without a chosen operator
                (the mode changed since the last call).
        """
        if not self.input_shapes:
            return []
        if self.mode == "full":
            return [(f"_ops/{k}", op) for k, op in enumerate(self._ops)]
        index = self.__dict__.get("_active")
        if index is None:
            raise ValueError(f"a MixedOp ({self.extra_repr()}) is in '{self.mode}' mode but "
                             f"has not been called since its mode changed; build the graph "
                             f"before estimating")
        return [(f"_ops/{index}", self._ops[index])]

    def lenders(self) -> List[Tuple[int, ...]]:
        """For each operator, the operators whose parameters it trains: itself,
        and those owning the weights of its
        :class:`~nnabla_nas.module.SharedKernel` modules (a 3x3
        candidate reading the centre of a 5x5 one's kernel trains the 5x5 one's
        weights). A ``sample``/``max`` build marks these as trained, and hides
        the lenders' modules whose parameters it does not read (their batch
        normalization), so that an optimizer holds only weights the graph uses."""
        return self.__dict__["_lenders"]

    def _unhide(self, ops: List[Module]) -> None:
        """Marks the modules the last :meth:`_mark` hid as trained again."""
        for k, name in self.__dict__["_hidden"]:
            dict(ops[k].get_modules())[name].__dict__["_need_grad"] = True
        self.__dict__["_hidden"] = ()

    def _mark(self, ops: List[Module], drawn: Sequence[int]) -> None:
        """Marks the operators ``drawn`` and their lenders as trained, every
        other operator as not (``need_grad`` of the module: it hides the whole
        operator from ``get_parameters(grad_only=True)``)."""
        state = self.__dict__
        lenders = state["_lenders"]
        if len(drawn) == 1 and len(lenders[drawn[0]]) == 1 and not state["_hidden"]:
            index = drawn[0]  # no shared weights: the hot path
            for k, op in enumerate(ops):
                op.__dict__["_need_grad"] = k == index
            return
        self._unhide(ops)
        trained = set(drawn).union(*(lenders[i] for i in drawn))
        for k, op in enumerate(ops):
            op.__dict__["_need_grad"] = k in trained
        hidden = []
        for k in sorted(trained.difference(drawn)):
            # Hidden: the modules of lender k holding parameters that no drawn
            # operator reads (k's batch normalization, say).
            read = set().union(*(state["_reads"][i].get(k, ()) for i in drawn))
            for name, m in ops[k].get_modules():
                if m.parameters and name not in read:
                    m.__dict__["_need_grad"] = False
                    hidden.append((k, name))
        state["_hidden"] = tuple(hidden)

    @property
    def active_index(self) -> Optional[int]:
        """Index of the operator built by the last ``sample``/``max`` call."""
        return self._active

    @property
    def active_op(self) -> Optional[Module]:
        """The operator built by the last ``sample``/``max`` call (None after a
        ``full`` call or before any call)."""
        index = self.__dict__.get("_active")
        return None if index is None else list(self._ops.modules.values())[index]

    @property
    def score(self) -> Optional[np.ndarray]:
        """``softmax(alpha) - onehot(k)`` of the last ``sample``/``max`` call: the
        gradient of ``-log p(k)``, flat, in float64 (a new array on each access).
        After a call prepared by :meth:`plan`, the score the caller gave.
        ``alpha.g`` holds the same values, but when several MixedOps share one
        alpha only the last call's; sum ``score`` over them instead."""
        last = self.last_draw
        if last is None:
            return None
        planned = self.__dict__.get("_score")
        return scores([last]) if planned is None else np.array(planned, dtype=np.float64)

    @property
    def planned_score(self) -> Optional[np.ndarray]:
        """The score given to :meth:`plan` for the last call, or None when the
        last call drew its own operator."""
        return self.__dict__.get("_score") if self.last_draw is not None else None

    def plan(self, index: int, score: np.ndarray, exclude: Sequence[int] = ()) -> None:
        """Makes the next ``sample`` call build operator ``index`` instead of
        drawing one, and report ``score`` (flat, ``len(operators)``) as its
        gradient of ``-log p``. For a caller that draws several choice points
        jointly (a cell choosing the inputs of a node, say) and knows the
        probability of what it drew. Under :func:`binary_gates` the second
        operator is drawn among those other than ``index`` and ``exclude``."""
        self.__dict__["_planned"] = (int(index), score, tuple(exclude))

    @property
    def gate_gradient(self) -> Optional[np.ndarray]:
        """After a backward pass through a call under :func:`binary_gates`: the
        gradient of the loss with respect to ``alpha`` estimated through the
        binary gates (flat, float64); None after any other call."""
        binary = self.__dict__.get("_binary")
        if binary is None:
            return None
        pair, r, gates = binary
        g = np.asarray(gates.g, dtype=np.float64).ravel()
        grad = np.zeros(len(self._ops))
        for i in range(2):
            grad[pair[i]] = sum(g[j] * r[j] * ((i == j) - r[i]) for j in range(2))
        return grad

    @property
    def gate_pair(self) -> Optional[Tuple[int, int]]:
        """The two operators of the last call under :func:`binary_gates`, or None."""
        binary = self.__dict__.get("_binary")
        return None if binary is None else binary[0]

    def current_probabilities(self) -> Tuple[float, ...]:
        """``softmax(alpha)`` as the next ``sample`` call sees it: a tuple of
        floats, read once inside :func:`fixed_alphas`."""
        fixed = self.__dict__.get("_fixed")
        if fixed:
            return fixed["p"]
        p = tuple(_softmax(self._alpha.d.ravel().tolist()))
        if fixed is not None:
            fixed.update(p=p, cdf=_cdf(p))
        return p

    @property
    def last_draw(self) -> Optional[Tuple[Tuple[float, ...], int]]:
        """``(probabilities, index)`` of the last ``sample``/``max`` call (the
        probabilities as a tuple of floats), or None."""
        index = self.__dict__.get("_active")
        return None if index is None else (self.__dict__["_probs"], index)

    def forget_draw(self) -> None:
        """Forgets the last ``sample``/``max`` call (:attr:`active_index`,
        :attr:`score` and :attr:`last_draw` become None), so that after the next
        build a choice point the build did not reach (inside an operator that
        was not drawn, say) is told apart from one it did."""
        self.__dict__["_active"] = None
        self.__dict__["_score"] = None

    def probabilities(self) -> np.ndarray:
        """``softmax(alpha)`` as a float64 vector."""
        return softmax(self._alpha.d)

    def call(self, input):
        mode = self.mode
        if mode == "full":
            return self._call_full(input)
        if mode not in MODES:
            raise ValueError(f"MixedOp mode must be one of {', '.join(MODES)}, "
                             f"got '{mode}'")
        # Plain attributes written through __dict__: Module.__setattr__ (two dict
        # pops and type checks per write) on this hot path costs more than the
        # draw; none of them is a Module or Parameter, so nothing is registered
        # either way (tests/module/test_mixedop.py::test_hot_path_writes_change_no_registration).
        state = self.__dict__
        fixed = state.get("_fixed")  # see fixed_alphas()
        if fixed:
            p, cdf = fixed["p"], fixed["cdf"]
        else:
            p = tuple(_softmax(self._alpha.d.ravel().tolist()))  # = self.probabilities()
            cdf = _cdf(p)  # (what draw() searches; max mode does not need it)
            if fixed is not None:
                fixed.update(p=p, cdf=cdf)
        planned = state.pop("_planned", None)
        exclude = ()
        if planned is not None and mode == "sample":
            index, state["_score"], exclude = planned  # drawn by the caller (see plan())
        elif mode == "sample":
            index, state["_score"] = _search(cdf, self.rng), None  # = draw(self.rng, p)
        else:
            index, state["_score"] = p.index(max(p)), None  # the first maximum, as numpy.argmax
        state["_active"] = index
        state["_probs"] = p
        state["_binary"] = None
        ops = list(self._ops.modules.values())
        # (A planned operator among the excluded ones keeps its choice point off the path.)
        if mode == "sample" and state.get("_gates") and index not in exclude:
            others = [k for k in range(len(ops)) if k != index and k not in exclude]
            if others:
                return self._call_binary(input, index, others, p, ops)
        # The module flag hides a whole operator from get_parameters(grad_only=True);
        # setting it on the operators themselves (not their subtrees) keeps this O(K).
        # (op.need_grad = ... is the same write through the property.)
        self._mark(ops, (index,))
        if fixed is None:
            alpha = self._alpha
            alpha.g = self.score.reshape(alpha.shape)
        return ops[index](input)

    def _call_binary(self, input, first: int, others: List[int], p: Sequence[float],
                     ops: List[Module]):
        # See binary_gates(): a second operator from p over the others, the open
        # gate by the pair's renormalised probabilities.
        second = others[_search(_cdf([p[k] for k in others]), self.rng)]
        pair = (first, second)
        total = p[first] + p[second]
        r = (p[first] / total, p[second] / total)
        open_ = 0 if self.rng.random_sample() < r[0] else 1
        gates = nn.Variable.from_numpy_array(
            np.array([[1.0 - open_], [float(open_)]], dtype=np.float32), need_grad=True)
        self.__dict__["_active"] = pair[open_]
        self.__dict__["_binary"] = (pair, r, gates)
        self._mark(ops, pair)
        out = shape = None
        for i, k in enumerate(pair):
            y = ops[k](input)
            shape = y.shape
            g = F.slice(gates, start=(i, 0), stop=(i + 1, 1))
            term = F.affine(g, F.reshape(y, (1, y.size), inplace=False))
            out = term if out is None else out + term
        return F.reshape(out, shape)

    def _call_full(self, input):
        self.__dict__["_active"] = None
        self.__dict__["_binary"] = None
        self.__dict__.pop("_planned", None)
        self._unhide(list(self._ops.modules.values()))
        for op in self._ops:
            op.__dict__["_need_grad"] = True
        probs = F.softmax(self._alpha, axis=0)
        ops = list(enumerate(self._ops))
        # A Zero operator's term is exactly zero: skip it (keep one if all are Zero).
        live = [(k, op) for k, op in ops if not isinstance(op, Zero)] or ops[:1]
        return weighted_sum(probs, ((k, op(input)) for k, op in live))

    def extra_repr(self) -> str:
        return f"num_ops={len(self._ops)}, mode={self.mode}"
