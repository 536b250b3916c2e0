"""Loading and validating a run config (JSON or YAML) before anything runs.

The config has four sections::

    {"dataloader": {"<dataset>": {...}},
     "network":    {"<space>": {...SearchNet or TrainNet kwargs}},
     "optimizer":  {"train": {...}, "valid": {...}, "warmup": {...}, "regularizer": {...}},
     "hparams":    {...}}

Every error is a :class:`ConfigError`: one line with the key path and what
would be right.
"""

import copy
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Union

from ...contrib.registry import SPACES
from ...dataset import DATASETS
from ...optimizer.optimizer import check_optimizer_config
from ..registry import ConfigError, check_kwargs, suggest
from .hparams import Hparams

SECTIONS = ("dataloader", "network", "optimizer", "hparams")
OPTIMIZER_SECTIONS = ("train", "valid", "warmup", "regularizer")
# Network arguments the program fills from the data when the config omits them.
DATA_ARGS = ("in_channels", "num_classes")


@dataclass
class RunConfig:
    """A validated config.

    Attributes:
        dataset: Dataset name; ``dataset_options`` its keyword arguments.
        network: Search-space name; ``network_options`` its keyword arguments.
        optimizer: Optimizer sections, name -> options.
        regularizer: Regularizer name -> options (ProxylessNAS).
        hparams: The validated :class:`Hparams`.
    """

    dataset: str
    dataset_options: Dict[str, Any]
    network: str
    network_options: Dict[str, Any]
    optimizer: Dict[str, Dict[str, Any]]
    regularizer: Dict[str, Dict[str, Any]]
    hparams: Hparams

    def to_dict(self) -> dict:
        """The resolved config, in the file layout (written as ``config.json``)."""
        optimizer = copy.deepcopy(self.optimizer)
        if self.regularizer:
            optimizer["regularizer"] = copy.deepcopy(self.regularizer)
        return {"dataloader": {self.dataset: copy.deepcopy(self.dataset_options)},
                "network": {self.network: copy.deepcopy(self.network_options)},
                "optimizer": optimizer, "hparams": self.hparams.to_dict()}


def read_config_file(path: str) -> dict:
    """Parses a ``.json``, ``.yaml`` or ``.yml`` file as data (``yaml.safe_load``).

    Raises:
        ConfigError: Missing file or a syntax error (with its position).
    """
    if not os.path.isfile(path):
        raise ConfigError(f"config file '{path}' does not exist")
    with open(path) as f:
        text = f.read()
    if path.endswith((".yaml", ".yml")):
        import yaml
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError(f"config file '{path}' is not valid YAML{where}: "
                              f"{getattr(err, 'problem', err)}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"config file '{path}' is not valid JSON at line {err.lineno}, "
                              f"column {err.colno}: {err.msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}': expected an object with sections "
                          f"{', '.join(SECTIONS)}")
    return data


def _single(section: dict, name: str, registry) -> tuple:
    if not isinstance(section, dict) or len(section) != 1:
        raise ConfigError(f"{name}: expected one {registry.kind} name mapping to its options, "
                          f"e.g. {{\"{registry.names()[0] if registry.names() else 'name'}\": {{}}}}; "
                          f"valid names: {', '.join(registry.names())}")
    (key, options), = section.items()
    registry.get(key, name)
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ConfigError(f"{name}.{key}: expected an object of options, got {options!r}")
    return key, dict(options)


def validate_config(config: Union[str, dict], algorithm: str) -> RunConfig:
    """Validates a config (a path or a dict) for ``algorithm``.

    Args:
        config: Path of a JSON/YAML file, or the parsed dict.
        algorithm: Registered runner name (``DartsSearcher``, ``Trainer``...).

    Returns:
        The :class:`RunConfig`.

    Raises:
        ConfigError: The first problem found, as one line.
    """
    from ...runner.registry import RUNNERS
    runner = RUNNERS.get(algorithm, "-a/--algorithm")
    data = read_config_file(config) if isinstance(config, str) else copy.deepcopy(config)
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected an object with sections {', '.join(SECTIONS)}")
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(f"config: unknown section '{key}'{suggest(key, SECTIONS)}; "
                              f"valid sections: {', '.join(SECTIONS)}")
    for key in ("dataloader", "network"):
        if key not in data:
            raise ConfigError(f"config: missing required section '{key}'")

    dataset, dataset_options = _single(data["dataloader"], "dataloader", DATASETS)
    check_kwargs(DATASETS.get(dataset), dataset_options, f"dataloader.{dataset}")

    network, network_options = _single(data["network"], "network", SPACES)
    net_cls = runner.network_class(SPACES.get(network))
    check_kwargs(net_cls, network_options, f"network.{network}", exclude=DATA_ARGS)
    for key in DATA_ARGS:
        value = network_options.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise ConfigError(f"network.{network}.{key}: expected a positive integer, "
                              f"got {value!r}")
    genotype = network_options.get("genotype")
    if isinstance(genotype, str) and not os.path.isfile(genotype):
        raise ConfigError(f"network.{network}.genotype: file '{genotype}' does not exist "
                          f"(give the arch file a search wrote)")

    optimizer = data.get("optimizer") or {}
    if not isinstance(optimizer, dict):
        raise ConfigError(f"optimizer: expected an object with sections "
                          f"{', '.join(OPTIMIZER_SECTIONS)}")
    for key, options in optimizer.items():
        if key not in OPTIMIZER_SECTIONS:
            raise ConfigError(f"optimizer: unknown section '{key}'"
                              f"{suggest(key, OPTIMIZER_SECTIONS)}; valid sections: "
                              f"{', '.join(OPTIMIZER_SECTIONS)}")
        if key != "regularizer":
            check_optimizer_config(options, f"optimizer.{key}")
    regularizer = optimizer.get("regularizer") or {}
    runner.check_regularizer(regularizer, "optimizer.regularizer")
    sections = {k: dict(v) for k, v in optimizer.items() if k != "regularizer"}
    hparams = Hparams.from_dict(data.get("hparams") or {}, "hparams")
    return RunConfig(dataset, dataset_options, network, network_options, sections,
                     dict(regularizer), hparams)
