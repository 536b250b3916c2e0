"""`Identity`: returns its input."""

from .module import Module


class Identity(Module):
    """Returns its input unchanged (the DARTS ``skip_connect``)."""

    def call(self, input):
        return input
