"""`Lambda`: wraps a function of Variables as a Module."""

from typing import Callable

from .module import Module


class Lambda(Module):
    """Calls ``func(*inputs)``.

    Args:
        func: A function of nnabla Variables returning Variable(s).
    """

    def __init__(self, func: Callable):
        if not callable(func):
            raise TypeError(f"Lambda needs a callable, got {func!r}")
        self._func = func

    def call(self, *inputs):
        return self._func(*inputs)

    def extra_repr(self) -> str:
        return f"func={getattr(self._func, '__name__', repr(self._func))}"
