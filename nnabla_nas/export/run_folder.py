"""The network of a run folder, rebuilt from its resolved ``config.json``.

Every folder that ``main.py`` writes has ``config.json`` (the resolved config:
data-derived network arguments and input shape included). A training run
(``-a Trainer``) adds ``weights.h5``; a search adds ``arch.h5`` (the
architecture weights) and, when it ends, ``weights.h5``. The network of a
training run is its ``TrainNet`` with the best weights; that of a search is its
``SearchNet`` with every choice point on its strongest operation (``MixedOp``
in ``max`` mode) and the weights the search trained.
"""

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..utils.io import load_h5_parameters
from .errors import ExportError


@dataclass
class RunNetwork:
    """A network rebuilt from a run folder.

    Attributes:
        model: The network, parameters loaded.
        kind: ``train`` or ``search``.
        input_shape: One input without the batch axis (from ``config.json``).
        config: The resolved config.
    """

    model: Any
    kind: str
    input_shape: Tuple[int, ...]
    config: Dict[str, Any]


def read_config(folder: str) -> Dict[str, Any]:
    """The resolved config of the run folder ``folder``.

    Raises:
        ExportError: Not a folder, no or an unreadable ``config.json``.
    """
    if not os.path.isdir(folder):
        raise ExportError(f"run folder '{folder}' does not exist (give a folder written by "
                          f"main.py -o)")
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        raise ExportError(f"'{folder}' has no config.json: it is not a run folder (give a "
                          f"folder written by main.py -o)")
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise ExportError(f"'{path}' is not readable JSON ({err})") from None
    for key in ("network", "hparams"):
        if not isinstance(config.get(key), dict):
            raise ExportError(f"'{path}' has no '{key}' section; it is not a config that "
                              f"main.py wrote")
    return config


def _single(config: Dict[str, Any], key: str, path: str) -> Tuple[str, Dict[str, Any]]:
    section = config.get(key)
    if not isinstance(section, dict) or len(section) != 1:
        raise ExportError(f"'{path}': section '{key}' must name exactly one {key}")
    (name, options), = section.items()
    return name, dict(options or {})


def _load(model, files: List[str], folder: str) -> None:
    """Loads the parameters of ``files`` into ``model``; every parameter of the
    model must be found with its shape."""
    saved: Dict[str, np.ndarray] = {}
    for name in files:
        path = os.path.join(folder, name)
        try:
            saved.update(load_h5_parameters(path))
        except ValueError as err:
            raise ExportError(str(err)) from None
    expected = model.get_parameters()
    missing = [k for k in expected if k not in saved]
    wrong = [f"{k} {saved[k].shape} (the config's network has {expected[k].shape})"
             for k in expected if k in saved and saved[k].shape != expected[k].shape]
    if missing or wrong:
        detail = (f"missing {missing[:3]}" if missing else "") + \
            ("; " if missing and wrong else "") + (f"shapes {wrong[:2]}" if wrong else "")
        raise ExportError(f"{' + '.join(files)} in '{folder}' do not fit the network of its "
                          f"config.json ({detail}); was the folder's config changed?")
    model.set_parameters(saved)


def load_run_network(folder: str) -> RunNetwork:
    """Rebuilds the network of the run folder ``folder`` with its parameters.

    Raises:
        ExportError: Not a run folder, no ``weights.h5``, a genotype file
            that is gone, or parameters that do not fit the config's network.
    """
    from ..contrib.registry import SPACES
    from ..utils.registry import ConfigError
    config = read_config(folder)
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(os.path.join(folder, "weights.h5")):
        raise ExportError(f"'{folder}' has no weights.h5: a training run writes it after its "
                          f"first epoch, a search when it ends")
    kind = "search" if os.path.isfile(os.path.join(folder, "arch.h5")) else "train"
    space_name, options = _single(config, "network", path)
    try:
        space = SPACES.get(space_name, "network")
    except ConfigError as err:
        raise ExportError(f"'{path}': {err}") from None
    shapes = config["hparams"].get("input_shapes") or []
    if not shapes or not isinstance(shapes[0], list):
        raise ExportError(f"'{path}' has no hparams.input_shapes; it is not a resolved config "
                          f"that main.py wrote")
    genotype = options.get("genotype")
    if kind == "train" and isinstance(genotype, str) and not os.path.isfile(genotype):
        raise ExportError(f"the genotype file '{genotype}' named in '{path}' does not exist "
                          f"(run the export from the folder the training was started in)")
    net_cls = space.SearchNet if kind == "search" else space.TrainNet
    try:
        model = net_cls(**options)
    except (TypeError, ValueError, FileNotFoundError) as err:
        raise ExportError(f"'{path}': cannot build {space_name}.{net_cls.__name__}: "
                          f"{str(err).splitlines()[0]}") from None
    _load(model, ["weights.h5", "arch.h5"] if kind == "search" else ["weights.h5"], folder)
    return RunNetwork(model, kind, tuple(int(d) for d in shapes[0]), config)


def run_normalization(config: Dict[str, Any]) -> Optional[Tuple[tuple, tuple]]:
    """``(mean, std)`` of the run's dataset (built from the config's
    ``dataloader`` section; the digits in a second, a downloaded dataset from
    its cache).

    Raises:
        ExportError: If the dataset cannot be built here.
    """
    data = build_run_data(config)
    return tuple(data.mean), tuple(data.std)


def build_run_data(config: Dict[str, Any]):
    """The dataset of the run's config (see :func:`run_normalization`)."""
    from ..dataset import build_dataset
    try:
        return build_dataset(config.get("dataloader") or {})
    except Exception as err:  # a dataset builder may fail in many ways (I/O, format)
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ExportError(f"cannot build the run's dataset for its input normalization "
                          f"({first}); pass --no-normalization to export without it") from None
