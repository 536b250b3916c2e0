"""Hardware-cost estimators of the active path of a search network.

They price the architecture the last graph build ran, and serve as
ProxylessNAS regularizers (:meth:`Estimator.factor`), built from the config
section ``optimizer.regularizer`` through :data:`ESTIMATORS`.
"""

from .active import active_layers, active_modules
from .estimator import Estimator
from .latency import LatencyEstimator
from .memory import MemoryEstimator
from .registry import ESTIMATORS, build_estimators

__all__ = ["ESTIMATORS", "Estimator", "LatencyEstimator", "MemoryEstimator",
           "active_layers", "active_modules", "build_estimators"]
