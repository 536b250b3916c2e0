"""Search spaces over :mod:`nnabla_nas.module`.

:class:`~nnabla_nas.contrib.model.Model` is the base of every searchable or
trainable network; the spaces live in :mod:`nnabla_nas.contrib.classification`
and are also importable as ``from nnabla_nas.contrib import darts``.
"""
