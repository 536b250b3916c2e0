"""Graph building: recomputation gives the same numbers as keeping activations."""

import nnabla as nn
import numpy as np

from nnabla_nas.contrib import darts
from nnabla_nas.runner.graph import build_graph, mark_recompute


def gradients(recompute: bool):
    nn.clear_parameters()
    np.random.seed(0)
    nn.random.seed(0)  # nnabla's initializers draw from nnabla's own generator
    net = darts.SearchNet(1, 2, 3, 4, num_choices=2, multiplier=2)
    net.get_arch_parameters()["cells/0/_mixed/1/_alpha"].d = np.arange(8).reshape(8, 1, 1, 1, 1)
    graph = build_graph(net, 4, (1, 8, 8), recompute=recompute)
    rng = np.random.RandomState(1)
    graph.feed((rng.randn(4, 1, 8, 8), rng.randint(0, 4, (4, 1))))
    params = net.get_parameters(grad_only=True)
    for p in params.values():
        p.grad.zero()
    loss, _ = graph.forward(clear_no_need_grad=True)
    graph.loss.backward(clear_buffer=True)
    return loss, {k: p.g.copy() for k, p in params.items()}


def test_recompute_gives_the_same_gradients():
    loss_a, grads_a = gradients(False)
    loss_b, grads_b = gradients(True)
    assert loss_a == loss_b
    assert grads_a.keys() == grads_b.keys() and len(grads_a) > 10
    for key in grads_a:
        np.testing.assert_allclose(grads_b[key], grads_a[key], rtol=1e-5, atol=1e-7, err_msg=key)
    assert any(np.abs(g).max() > 0 for k, g in grads_a.items() if "alpha" in k)


def test_mark_recompute_marks_only_cheap_functions():
    x = nn.Variable((2, 3))
    import nnabla.functions as F
    y = F.sum(F.relu(x) * 2)
    assert mark_recompute(y) == 1
    assert mark_recompute(F.sum(F.tanh(x))) == 0
