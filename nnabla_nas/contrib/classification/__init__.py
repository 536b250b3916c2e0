"""Image classification search spaces: one subpackage per space (``darts``, ...),
all built on :class:`~nnabla_nas.contrib.classification.base.ClassificationModel`."""

from .base import ClassificationModel

__all__ = ["ClassificationModel"]
