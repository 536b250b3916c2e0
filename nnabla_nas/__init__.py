"""nnabla-nas: neural architecture search (DARTS and ProxylessNAS) native to NNabla."""

__version__ = "1.0.0"
