"""Exported file sizes and exactness at full size: MobileNetV2 (ImageNet, 224x224)
and a DARTS network (CIFAR-10 size, DARTS-V2 cells).

For each network: parameter bytes (float32, those the inference graph uses),
the ONNX and NNP file sizes, the ONNX graph without its initializers, the
largest difference between ONNX Runtime / NnpLoader and the Module graph on
random batches, and the export time. Writes docs/export_sizes.json.

    python bench/export_sizes.py
"""

import json
import os
import platform
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("NNABLA_CONFIG_FILE_PATH",
                      os.path.join(ROOT, "nnabla_nas", "cli", "nnabla.conf"))

import numpy as np  # noqa: E402

from nnabla_nas.contrib.classification import darts, mobilenet  # noqa: E402
from nnabla_nas.export import export, run_file  # noqa: E402
from nnabla_nas.export.graph import build_inference_graph  # noqa: E402
from nnabla_nas.export.latency import device_name  # noqa: E402
from nnabla_nas.utils.io import write_text_atomic  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests"))
from contrib.classification.darts.conftest import DARTS_V2  # noqa: E402  (DARTS-V2's cells)

def randomize(net):
    rng = np.random.RandomState(0)
    for name, p in net.get_parameters().items():
        value = rng.uniform(0.5, 2.0, p.shape) if name.endswith("_var") else \
            rng.randn(*p.shape) * 0.05
        p.d = value.astype(np.float32)  # (a float64 value would make the array float64)
    return net


def measure(name, net, shape, batch_size, folder):
    import onnx
    used = build_inference_graph(net, shape, 1).parameters
    param_bytes = sum(4 * int(np.prod(p.shape)) for p in used.values())
    row = {"network": name, "input": [batch_size, *shape], "parameter_bytes": param_bytes}
    x = np.random.RandomState(1).randn(batch_size, *shape)
    graph = build_inference_graph(net, shape, batch_size)
    graph.x.d = x
    graph.y.forward()
    for fmt in ("onnx", "nnp"):
        path = os.path.join(folder, f"{name}.{fmt}")
        start = time.time()
        export(net, path, shape, batch_size=batch_size)
        row[f"{fmt}_seconds"] = round(time.time() - start, 1)
        row[f"{fmt}_bytes"] = os.path.getsize(path)
        out = run_file(path, x)
        row[f"{fmt}_max_abs_diff"] = float(np.abs(out - graph.y.d).max())
        row[f"{fmt}_same_predictions"] = bool((out.argmax(1) == graph.y.d.argmax(1)).all())
        if fmt == "onnx":
            model = onnx.load(path)
            row["onnx_graph_bytes"] = model.graph.ByteSize() - sum(
                t.ByteSize() for t in model.graph.initializer)
    row["onnx_over_parameters"] = round(row["onnx_bytes"] / param_bytes, 3)
    print(json.dumps(row), flush=True)
    return row


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows.append(measure("mobilenet_v2", randomize(mobilenet.TrainNet()), (3, 224, 224), 8,
                            folder))
        rows.append(measure("darts_v2_cifar", randomize(darts.TrainNet(3, 36, 20, 10, DARTS_V2)),
                            (3, 32, 32), 8, folder))
    summary = {"command": "python bench/export_sizes.py",
               "machine": f"{device_name()}, {platform.system()} {platform.release()}",
               "rows": rows}
    write_text_atomic(os.path.join(ROOT, "docs", "export_sizes.json"),
                      json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
