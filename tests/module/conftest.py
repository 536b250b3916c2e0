"""Helpers for comparing Modules with nnabla / numpy references."""

import numpy as np
import pytest


def run(build, inputs, params=(), seed=0):
    """Forward ``build(*inputs)``, backward a fixed random ``dy``.

    Returns:
        (output array, [grad of each input and param]).
    """
    for v in list(inputs) + list(params):
        v.grad.zero()
    y = build(*inputs)
    y.forward()
    dy = np.random.RandomState(seed).randn(*y.shape).astype(np.float32)
    y.backward(dy)
    return y.d.copy(), [v.g.copy() for v in list(inputs) + list(params)]


@pytest.fixture
def compare():
    """``compare(ours, reference, inputs, params)`` checks forward and backward."""
    def check(ours, reference, inputs, params=(), rtol=1e-5, atol=1e-5):
        y1, g1 = run(ours, inputs, params)
        y2, g2 = run(reference, inputs, params)
        np.testing.assert_allclose(y1, y2, rtol=rtol, atol=atol)
        for a, b in zip(g1, g2):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
        return y1
    return check
