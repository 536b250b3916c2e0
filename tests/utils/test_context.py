"""Tests of `nnabla_nas.utils.context`."""

import importlib.util
import os

import nnabla as nn
import nnabla.functions as F
import pytest

from nnabla_nas.utils.context import CUDA_PACKAGE, release_memory_cache, set_context
from nnabla_nas.utils.registry import ConfigError


def resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


@pytest.fixture
def restore_context():
    ctx = nn.get_current_context()
    yield
    nn.set_default_context(ctx)


def test_cpu_context_uses_the_caching_array(restore_context):
    ctx = set_context("cpu")
    assert ctx.backend == ["cpu:float"] and ctx.array_class == "CpuCachedArray"
    assert nn.get_current_context().array_class == "CpuCachedArray"


@pytest.mark.parametrize("context, message", [("gpu", "unknown context 'gpu'; valid: cpu"),
                                              ("cpu", "unknown type 'double'")])
def test_bad_context_or_type_names_the_valid_ones(context, message, restore_context):
    with pytest.raises(ConfigError, match=message):
        set_context(context, type_config="double" if context == "cpu" else "float")


@pytest.mark.skipif(importlib.util.find_spec("nnabla_ext.cuda") is not None,
                    reason="the CUDA extension is installed")
def test_cudnn_without_the_extension_names_the_package(restore_context):
    with pytest.raises(ConfigError, match=f"pip install {CUDA_PACKAGE}"):
        set_context("cudnn")


def test_release_memory_cache_returns_cached_blocks_on_cpu(restore_context):
    set_context("cpu")
    x = nn.Variable((32, 1024, 1024))  # 128 MiB
    y = F.identity(x)
    y.forward()
    del x, y  # freed, but kept by nnabla's caching allocator
    held = resident_mib()
    assert release_memory_cache()
    assert resident_mib() < held - 100


def test_release_memory_cache_leaves_cuda_contexts_alone(restore_context):
    nn.set_default_context(nn.Context(["cudnn:float", "cuda:float"], "CudaCachedArray", "0"))
    assert release_memory_cache() is False
