"""NNP files: the inference graph and its parameters, saved by :func:`nnabla.utils.save.save`."""

from typing import Optional

import nnabla as nn

from ..utils.io import atomic_path
from .errors import ExportError
from .graph import INPUT, OUTPUT, InferenceGraph

#: Names of the network and of its executor in the NNP file.
NETWORK, EXECUTOR = "network", "runtime"


def save_nnp(graph: InferenceGraph, path: str, variable_batch_size: bool = True) -> None:
    """Writes ``graph`` with its parameters to the ``.nnp`` file ``path``, atomically.

    The executor ``runtime`` maps the input ``x`` to the output ``y`` of the
    network ``network``. Its ``no_image_normalization`` is set: a loader must
    not rescale the input (a graph with ``normalization`` takes 0..255 pixels
    and normalizes them itself; one without takes what the network took in
    training). :func:`~nnabla_nas.export.graph.describe_input` says which.

    Args:
        graph: From :func:`~nnabla_nas.export.graph.build_inference_graph`.
        path: Output path, ending in ``.nnp``.
        variable_batch_size: Leave the batch axis open (``-1``), so that
            :class:`~nnabla.utils.nnp_graph.NnpLoader` builds any batch size.

    Raises:
        ExportError: If ``path`` does not end in ``.nnp`` or a parameter is missing.
        OSError: If ``path`` cannot be written.
    """
    from nnabla.utils.save import save
    if not path.endswith(".nnp"):
        raise ExportError(f"an NNP file name must end in .nnp, got '{path}'")
    contents = {
        "networks": [{"name": NETWORK, "batch_size": graph.x.shape[0],
                      "outputs": {OUTPUT: graph.y}, "names": {INPUT: graph.x}}],
        "executors": [{"name": EXECUTOR, "network": NETWORK, "data": [INPUT],
                       "output": [OUTPUT],
                       "no_image_normalization": True}],
    }
    with nn.parameter_scope("", graph.scope), atomic_path(path) as tmp:
        save(tmp, contents, variable_batch_size=variable_batch_size)
        _check_parameters(tmp, graph)


def _check_parameters(path: str, graph: InferenceGraph) -> None:
    """Every parameter of the graph is in the file (nnabla's save drops
    unnamed ones without an error)."""
    import zipfile
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    if graph.parameters and not any(n.endswith((".h5", ".protobuf")) for n in names):
        raise ExportError(f"the NNP file has no parameters (files: {names}); "
                          f"this is a bug of the export")


def load_nnp(path: str, batch_size: Optional[int] = None):
    """Loads ``path`` with :class:`~nnabla.utils.nnp_graph.NnpLoader`; returns
    ``(x, y)`` Variables of its network at ``batch_size`` (default: as saved)."""
    from nnabla.utils.nnp_graph import NnpLoader
    loader = NnpLoader(path)
    net = loader.get_network(NETWORK, batch_size=batch_size)
    return net.inputs[INPUT], net.outputs[OUTPUT]
