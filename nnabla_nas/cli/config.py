"""Loading and validating a run config (JSON or YAML) before anything runs.

The config has four sections::

    {"dataloader": {"<dataset>": {...}},
     "network":    {"<space>": {...SearchNet or TrainNet kwargs}},
     "optimizer":  {"train": {...}, "valid": {...}, "warmup": {...}, "regularizer": {...}},
     "hparams":    {...Hparams fields and the algorithm's own options}}

:func:`validate_config` checks every key once, against the registries and
the signatures of what they build; :mod:`.build` then builds without checking
again. Every error is a :class:`ConfigError`: one line with the key path and
what would be right.
"""

import copy
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Tuple, Union

from ..contrib.registry import SPACES
from ..dataset import DATASETS
from ..optimizer.optimizer import check_optimizer_config
from ..runner.hparams import Hparams
from ..runner.registry import RUNNERS
from ..utils.estimator import ESTIMATORS
from ..utils.registry import (ConfigError, Registry, accepted_keys, check_kwargs, check_type,
                              suggest)

SECTIONS = ("dataloader", "network", "optimizer", "hparams")
OPTIMIZER_SECTIONS = ("train", "valid", "warmup", "regularizer")
# Network arguments the program fills from the data when the config omits them.
DATA_ARGS = ("in_channels", "num_classes")


@dataclass
class RunConfig:
    """A validated config.

    Attributes:
        algorithm: The registered runner name (``-a``).
        dataset: Dataset name; ``dataset_options`` its keyword arguments.
        network: Search-space name; ``network_options`` its keyword arguments.
        optimizer: Optimizer sections, name -> options.
        regularizer: Regularizer name -> options (algorithms that take one).
        hparams: The validated :class:`Hparams`.
        options: The algorithm's own constructor arguments, given in the
            ``hparams`` section (see :meth:`Runner.options`), defaults filled.
    """

    algorithm: str
    dataset: str
    dataset_options: Dict[str, Any]
    network: str
    network_options: Dict[str, Any]
    optimizer: Dict[str, Dict[str, Any]]
    regularizer: Dict[str, Dict[str, Any]]
    hparams: Hparams
    options: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The resolved config, in the file layout (written as ``config.json``)."""
        optimizer = copy.deepcopy(self.optimizer)
        if self.regularizer:
            optimizer["regularizer"] = copy.deepcopy(self.regularizer)
        return {"dataloader": {self.dataset: copy.deepcopy(self.dataset_options)},
                "network": {self.network: copy.deepcopy(self.network_options)},
                "optimizer": optimizer,
                "hparams": {**self.hparams.to_dict(), **copy.deepcopy(self.options)}}


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


def _single(section: Any, name: str, registry: Registry) -> Tuple[str, dict]:
    """The one ``name -> options`` pair of a section such as ``network``."""
    if not isinstance(section, dict) or len(section) != 1:
        example = registry.names()[0] if registry.names() else "name"
        raise ConfigError(f"{name}: expected one {registry.kind} name mapping to its options, "
                          f"e.g. {{\"{example}\": {{}}}}; "
                          f"valid names: {', '.join(registry.names())}")
    (key, options), = section.items()
    registry.get(key, name)
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ConfigError(f"{name}.{key}: expected an object of options, got {options!r}")
    return key, dict(options)


def _check_sections(data: Any) -> None:
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected an object with sections {', '.join(SECTIONS)}")
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(f"config: unknown section '{key}'{suggest(key, SECTIONS)}; "
                              f"valid sections: {', '.join(SECTIONS)}")
    for key in ("dataloader", "network"):
        if key not in data:
            raise ConfigError(f"config: missing required section '{key}'")


def _check_network(data: dict, runner) -> Tuple[str, dict]:
    network, options = _single(data["network"], "network", SPACES)
    check_kwargs(runner.network_class(SPACES.get(network)), options, f"network.{network}",
                 exclude=DATA_ARGS)
    for key in DATA_ARGS:
        value = options.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise ConfigError(f"network.{network}.{key}: expected a positive integer, "
                              f"got {value!r}")
    genotype = options.get("genotype")
    if isinstance(genotype, str) and not os.path.isfile(genotype):
        raise ConfigError(f"network.{network}.genotype: file '{genotype}' does not exist "
                          f"(give the arch file a search wrote)")
    return network, options


def _check_optimizer(data: dict, algorithm: str, runner) -> Tuple[dict, dict]:
    """The optimizer sections and the regularizer section, checked."""
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
    path = "optimizer.regularizer"
    if not isinstance(regularizer, dict):
        raise ConfigError(f"{path}: expected an object such as "
                          f"{{\"LatencyEstimator\": {{\"weight\": 0.1, \"bound\": 5.0}}}}")
    if regularizer and "regularizer" not in runner.options():
        takers = [n for n in RUNNERS.names() if "regularizer" in RUNNERS.get(n).options()]
        raise ConfigError(f"{path}: {algorithm} takes no regularizer (only "
                          f"{', '.join(takers)}); remove the section")
    for name, options in regularizer.items():
        if options is not None and not isinstance(options, dict):
            raise ConfigError(f"{path}.{name}: expected an object of options, got {options!r}")
        check_kwargs(ESTIMATORS.get(name, path), options or {}, f"{path}.{name}")
        if (options or {}).get("runtime") == "onnxruntime":
            check_onnxruntime(f"{path}.{name}.runtime")
    sections = {k: dict(v) for k, v in optimizer.items() if k != "regularizer"}
    return sections, {k: dict(v or {}) for k, v in regularizer.items()}


def check_onnxruntime(key: str) -> None:
    """Checks that the packages of the ``onnxruntime`` latency runtime are
    installed (:func:`~nnabla_nas.cli.build.build_run` registers the runtime).

    Raises:
        ConfigError: If onnx, onnxruntime or nnabla-converter is missing (one
            line naming ``key`` and the install line).
    """
    from ..export.errors import MissingDependency, require
    try:
        for module in ("onnx", "onnxruntime", "nnabla.utils.converter.onnx"):
            require(module)
    except MissingDependency as err:
        raise ConfigError(f"{key}: 'onnxruntime' times layers in ONNX Runtime; {err}") from None


def _check_hparams(data: dict, algorithm: str, runner) -> Tuple[Hparams, dict]:
    """The :class:`Hparams` and the algorithm's own options of ``hparams``."""
    section = data.get("hparams") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"hparams: expected an object, got {section!r}")
    own = {k: v for k, v in runner.options().items() if k != "regularizer"}
    fields = set(Hparams.__dataclass_fields__)
    for key in section:
        if key in fields or key in own:
            continue
        takers = [n for n in RUNNERS.names() if key in RUNNERS.get(n).options()]
        if takers:
            raise ConfigError(f"hparams.{key}: used by {', '.join(takers)} only, not by "
                              f"{algorithm}; remove it")
        valid = sorted(fields | set(own))
        raise ConfigError(f"hparams: unknown key '{key}'{suggest(key, valid)}; "
                          f"valid keys: {', '.join(valid)}")
    given = {k: v for k, v in section.items() if k in own}
    params = accepted_keys(runner)
    for key, value in given.items():
        check_type(f"hparams.{key}", value, params[key].default, params[key].annotation)
    options = {**own, **given}
    runner.check_options(options, "hparams")
    hparams = Hparams.from_dict({k: v for k, v in section.items() if k in fields}, "hparams")
    return hparams, options


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
    runner = RUNNERS.get(algorithm, "-a/--algorithm")
    data = read_config_file(config) if isinstance(config, str) else copy.deepcopy(config)
    _check_sections(data)
    dataset, dataset_options = _single(data["dataloader"], "dataloader", DATASETS)
    check_kwargs(DATASETS.get(dataset), dataset_options, f"dataloader.{dataset}")
    network, network_options = _check_network(data, runner)
    sections, regularizer = _check_optimizer(data, algorithm, runner)
    hparams, options = _check_hparams(data, algorithm, runner)
    return RunConfig(algorithm, dataset, dataset_options, network, network_options, sections,
                     regularizer, hparams, options)
