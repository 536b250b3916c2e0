import subprocess
import sys

SCRIPT = r"""
import sys, time
import nnabla as nn, nnabla.functions as F, numpy as np
def build(n):
    x = nn.Variable((2, 3, 8, 8)); w = nn.Variable((3, 3, 3, 3))
    start = time.perf_counter()
    for _ in range(n):
        y = F.relu(F.convolution(x, w, pad=(1, 1)))
    return time.perf_counter() - start, x, w, y
slow = build(1500)[0]
from nnabla_nas.utils import import_cache; import_cache.install()
from nnabla_nas.utils.import_cache import NnablaAlias
assert isinstance(sys.modules["nnabla.nnabla"], NnablaAlias)
assert sys.modules["nnabla.nnabla_ext"] is None
assert sys.modules["nnabla.nnabla.variable"] is sys.modules["nnabla.variable"]
fast, x, w, y = build(1500)
x.d = np.arange(x.size).reshape(x.shape) % 7; w.d = np.ones(w.shape)
y.forward()
print(slow / fast, float(y.d.sum()))
"""

# Everything below must behave as in plain nnabla once the shortcuts are in.
BEHAVIOUR = r"""
import importlib, os, sys, tempfile
import numpy as np
import nnabla as nn, nnabla.functions as F, nnabla.parametric_functions as PF
import nnabla.solvers as S
{install}
out = []
with nn.auto_forward():  # the feature aliasing nnabla.nnabla to nnabla used to break
    out.append(F.relu(nn.Variable.from_numpy_array(np.array([-1.0, 2.0]))).d.tolist())
nn.clear_parameters()
x = nn.Variable.from_numpy_array(np.linspace(-1, 1, 12).reshape(3, 4))
with nn.parameter_scope("net"):
    y = PF.affine(x, 2, w_init=np.ones((4, 2)) * 0.3)
loss = F.sum(y ** 2)
solver = S.Momentum(0.1)
solver.set_parameters(nn.get_parameters())
for _ in range(3):
    loss.forward(); solver.zero_grad(); loss.backward(); solver.update()
out.append(float(loss.d))
path = os.path.join(tempfile.mkdtemp(), "p.h5")
nn.save_parameters(path)
nn.clear_parameters(); nn.load_parameters(path)
out.append(nn.get_parameters()["net/affine/W"].d.sum().item())
try:
    importlib.import_module("nnabla.nnabla.solvers")
    out.append("imported")
except ImportError as err:
    out.append(type(err).__name__)
modules = {id(m): m.__name__ for k, m in list(sys.modules.items()) if k.startswith("nnabla")
           and m is not None and m.__name__ != "nnabla.nnabla"}
names = list(modules.values())
out.append(len(names) == len(set(names)))  # no nnabla module loaded twice
out.append(nn.__version__ == sys.modules["nnabla.nnabla"].__version__
           if "nnabla.nnabla" in sys.modules and sys.modules["nnabla.nnabla"] else True)
print(out)
"""


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip().splitlines()[-1]


def test_shortcuts_speed_up_function_calls_and_keep_results():
    ratio, total = map(float, run(SCRIPT).split())
    assert ratio > 1.3, ratio
    # Same graph, same numbers as plain nnabla (reference computed without the shortcuts).
    ref = run(SCRIPT.split("slow = build")[0] + "t, x, w, y = build(1)\n"
              "x.d = np.arange(x.size).reshape(x.shape) % 7; w.d = np.ones(w.shape)\n"
              "y.forward(); print(float(y.d.sum()))")
    assert float(ref) == total


def test_nnabla_behaves_as_without_the_shortcuts():
    plain = run(BEHAVIOUR.replace("{install}", ""))
    ours = run(BEHAVIOUR.replace(
        "{install}", "from nnabla_nas.utils import import_cache; import_cache.install()"))
    assert ours == plain, (ours, plain)
    assert "[[0.0, 2.0]," in ours and "ModuleNotFoundError" in ours and "True, True]" in ours


def test_install_is_idempotent_and_aliases_only_absent_names():
    from nnabla_nas.utils import import_cache
    import_cache.install()
    before = {k: sys.modules[k] for k in ("nnabla.nnabla", "nnabla.nnabla.variable")}
    assert import_cache.install() == import_cache.install() >= 3
    assert {k: sys.modules.get(k) for k in before} == before
    alias = sys.modules["nnabla.nnabla"]
    import nnabla
    assert alias.Variable is nnabla.Variable and not hasattr(alias, "__path__")
