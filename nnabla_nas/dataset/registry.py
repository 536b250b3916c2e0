"""The dataset registry: names under ``dataloader`` in a config are looked up here.

A registered builder is a function whose keyword arguments are the config keys
of its dataset and which returns an :class:`~nnabla_nas.dataset.data.ImageData`.
"""

from typing import Any, Dict

from ..utils.registry import ConfigError, Registry

#: Dataset builders, filled by ``@DATASETS.register("name")``.
DATASETS = Registry("dataset")


def build_dataset(section: Dict[str, Any], path: str = "dataloader") -> Any:
    """Builds the dataset named by the single key of a config section.

    Args:
        section: The ``dataloader`` section, e.g.
            ``{"cifar10": {"train_portion": 0.5}}``.
        path: Key path of ``section`` in the config, for messages.

    Returns:
        The :class:`~nnabla_nas.dataset.data.ImageData` of the builder.

    Raises:
        ConfigError: If ``section`` does not name exactly one dataset, the
            name is unknown or its options are invalid.
    """
    if not isinstance(section, dict) or len(section) != 1:
        raise ConfigError(f"{path}: expected exactly one dataset name, e.g. "
                          f"{{\"cifar10\": {{}}}}; valid names: {', '.join(DATASETS.names())}")
    (name, options), = section.items()
    if options is not None and not isinstance(options, dict):
        raise ConfigError(f"{path}.{name}: expected an object of options, got {options!r}")
    return DATASETS.build(name, options, path=path)
