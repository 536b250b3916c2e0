"""The `Parameter`: an `nnabla.Variable` that a `Module` owns and registers."""

from typing import Callable, Sequence, Union

import nnabla as nn
import numpy as np

Initializer = Union[None, np.ndarray, Callable[..., np.ndarray]]


class Parameter(nn.Variable):
    """A trainable (or fixed) array owned by a :class:`~nnabla_nas.module.Module`.

    Assigning a Parameter as an attribute of a Module registers it, so that
    :meth:`Module.get_parameters` finds it. Its gradient starts at zero.

    Args:
        shape: Shape of the array.
        need_grad: Whether the solver should update it.
        initializer: ``None`` (zeros), a numpy array of shape ``shape``, or a
            callable taking ``shape=`` (any nnabla initializer).

    Raises:
        ValueError: If an array initializer does not have shape ``shape``.
    """

    def __new__(cls, shape: Sequence[int], need_grad: bool = True,
                initializer: Initializer = None):
        return super().__new__(cls, tuple(shape), need_grad=need_grad)

    def __init__(self, shape: Sequence[int], need_grad: bool = True,
                 initializer: Initializer = None):
        shape = tuple(shape)
        if initializer is None:
            self.data.zero()
        elif isinstance(initializer, np.ndarray):
            if initializer.shape != shape:
                raise ValueError(f"initializer has shape {initializer.shape}, "
                                 f"expected {shape}")
            self.d = initializer
        elif callable(initializer):
            self.d = initializer(shape=shape)
        else:
            raise TypeError("initializer must be None, a numpy array or a "
                            f"callable taking shape=, got {type(initializer).__name__}")
        self.grad.zero()

    #: True for architecture parameters (the ``alpha`` of a MixedOp); the
    #: single tag that tells arch parameters from net parameters.
    is_arch = False

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, need_grad={self.need_grad})"
