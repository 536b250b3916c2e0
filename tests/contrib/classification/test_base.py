"""Tests of `ClassificationModel.loss` and `.metrics` against numpy."""

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.contrib.classification.base import ClassificationModel

LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 0.3, 3.0], [1.0, 2.0, 0.0], [-2.0, 0.0, 1.5]])
LABELS = np.array([0, 1, 1, 2])          # rows 0, 2, 3 right, row 1 wrong


def variable(array):
    v = nn.Variable(array.shape)
    v.d = array
    return v


def cross_entropy(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels].mean()


def value(v):
    v.forward()
    return float(v.d)


def test_loss_is_mean_cross_entropy():
    loss = ClassificationModel().loss(variable(LOGITS), variable(LABELS[:, None]))
    assert loss.shape == ()
    np.testing.assert_allclose(value(loss), cross_entropy(LOGITS, LABELS), rtol=1e-5)


def test_loss_weights_main_and_auxiliary_outputs():
    aux = LOGITS[::-1].copy()
    model, t = ClassificationModel(), variable(LABELS[:, None])
    outputs = (variable(LOGITS), variable(aux))
    expected = cross_entropy(LOGITS, LABELS) + 0.4 * cross_entropy(aux, LABELS)
    np.testing.assert_allclose(value(model.loss(outputs, [t], loss_weights=[1, 0.4])),
                               expected, rtol=1e-5)
    default = cross_entropy(LOGITS, LABELS) + cross_entropy(aux, LABELS)
    np.testing.assert_allclose(value(model.loss(outputs, t)), default, rtol=1e-5)


def test_extra_loss_weights_are_ignored():
    # In evaluation a network with an auxiliary head returns one output,
    # while the config still gives two weights.
    model, y, t = ClassificationModel(), variable(LOGITS), variable(LABELS[:, None])
    np.testing.assert_allclose(value(model.loss(y, t, loss_weights=[0.5, 0.4])),
                               0.5 * cross_entropy(LOGITS, LABELS), rtol=1e-5)


def test_loss_rejects_mismatched_lengths():
    model, y, t = ClassificationModel(), variable(LOGITS), variable(LABELS[:, None])
    with pytest.raises(ValueError, match="1 values for 2 outputs"):
        model.loss((y, y), t, loss_weights=[1])
    with pytest.raises(ValueError, match="3 targets for 2 outputs"):
        model.loss((y, y), [t, t, t])


def test_error_is_top1_of_the_first_output():
    model, t = ClassificationModel(), variable(LABELS[:, None])
    wrong_aux = variable(-LOGITS)
    metrics = model.metrics((variable(LOGITS), wrong_aux), t)
    assert set(metrics) == {"error"}
    expected = np.mean(LOGITS.argmax(axis=1) != LABELS)
    assert expected == 0.25
    np.testing.assert_allclose(value(metrics["error"]), expected)
