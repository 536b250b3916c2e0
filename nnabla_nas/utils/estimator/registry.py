"""`ESTIMATORS`: regularizer name (the ``optimizer.regularizer`` config keys)
-> estimator class."""

from typing import Any, Dict, Optional

from ..registry import ConfigError, Registry

ESTIMATORS = Registry("regularizer")


def build_estimators(section: Optional[Dict[str, Dict[str, Any]]],
                     path: str = "optimizer.regularizer") -> Dict[str, Any]:
    """Builds every estimator of a config section such as
    ``{"LatencyEstimator": {"weight": 0.1, "bound": 5.0}}``.

    Args:
        section: Regularizer name -> keyword arguments (None or empty: none).
        path: Key path of ``section`` in the config, for messages.

    Returns:
        Name -> estimator, in the section's order.

    Raises:
        ConfigError: On an unknown name, key, a value of the wrong type, or a
            value the estimator rejects (bad unit, missing or malformed table).
    """
    estimators = {}
    for name, options in (section or {}).items():
        if options is not None and not isinstance(options, dict):
            raise ConfigError(f"{path}.{name}: expected an object of options, got {options!r}")
        try:
            estimators[name] = ESTIMATORS.build(name, options, path=path)
        except ConfigError:
            raise
        except (ValueError, FileNotFoundError) as err:
            raise ConfigError(f"{path}.{name}: {str(err).splitlines()[0]}") from None
    return estimators
