"""Choosing nnabla's compute context (``cpu`` or ``cudnn``) with clear errors."""

import importlib.util

import nnabla as nn
from nnabla.ext_utils import get_extension_context

from . import import_cache
from .registry import ConfigError

CONTEXTS = ("cpu", "cuda", "cudnn")
TYPE_CONFIGS = ("float", "half")
CUDA_PACKAGE = "nnabla-ext-cuda120"


def set_context(context: str = "cpu", device_id: str = "0", type_config: str = "float"):
    """Sets nnabla's default context and returns it.

    Args:
        context: ``cpu``, or ``cudnn``/``cuda`` (needs the CUDA extension).
        device_id: GPU index; with a list such as ``"0,1"`` the first is used.
        type_config: ``float`` or ``half``.

    Raises:
        ConfigError: Unknown context or type, or a CUDA context without the
            CUDA extension installed (the message names the package).
    """
    if context not in CONTEXTS:
        raise ConfigError(f"context: unknown context '{context}'; valid: {', '.join(CONTEXTS)}")
    if type_config not in TYPE_CONFIGS:
        raise ConfigError(f"type_config: unknown type '{type_config}'; "
                          f"valid: {', '.join(TYPE_CONFIGS)}")
    device = str(device_id).split(",")[0].strip() or "0"
    if context != "cpu":
        if importlib.util.find_spec("nnabla_ext") is None or \
                importlib.util.find_spec("nnabla_ext.cuda") is None:
            raise ConfigError(f"context '{context}' needs the CUDA extension, which is not "
                              f"installed: pip install {CUDA_PACKAGE} "
                              f"(or pip install 'nnabla-nas[cuda]'), or use -c cpu")
        try:
            ctx = get_extension_context(context, device_id=device, type_config=type_config)
        except Exception as err:  # the extension exists but no usable GPU/driver
            raise ConfigError(f"context '{context}' could not start on device {device}: "
                              f"{str(err).splitlines()[0]}") from None
    else:
        ctx = get_extension_context("cpu", type_config=type_config)
    nn.set_default_context(ctx)
    import_cache.install()  # alias the extension's modules now that they are loaded
    return ctx


def release_memory_cache() -> bool:
    """Hands the memory nnabla's caching allocator holds for reuse back to the
    system, on a CPU context; returns whether it did.

    A sampled search runs graphs of different shapes one after another; blocks
    cached for one path's buffers often do not fit the next one's, so the cache
    only grows. Releasing it between phases keeps the peak at what one phase
    needs. On CUDA it does nothing: re-allocating device memory is slow.
    """
    if not all(backend.startswith("cpu") for backend in nn.get_current_context().backend):
        return False
    from nnabla.ext_utils import import_extension_module
    import_extension_module("cpu").clear_memory_cache()
    return True
