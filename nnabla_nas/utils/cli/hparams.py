"""`Hparams`: the ``hparams`` section of a config, with its defaults and checks."""

import dataclasses
from dataclasses import dataclass
from typing import List, Optional

from ..registry import ConfigError, check_kwargs, check_type


@dataclass
class Hparams:
    """Run settings (the config's ``hparams`` section).

    Attributes:
        epoch: Epochs of search (after warmup) or of training.
        warmup: Epochs of weight-only training before the search starts.
        batch_size_train: Samples per weight update.
        batch_size_valid: Samples per architecture update / evaluation batch.
        mini_batch_train: Samples per forward pass; gradients are accumulated
            over ``batch_size_train / mini_batch_train`` passes (default: no
            accumulation).
        mini_batch_valid: The same for ``batch_size_valid``.
        print_frequency: Update the progress bar's loss/error every this many steps.
        input_shapes: ``[[C, H, W]]`` of the network input; checked against
            the data when given, taken from the data when not.
        target_shapes: ``[[1]]``; accepted for compatibility.
        loss_weights: Weights of the network's outputs in the loss (e.g.
            ``[1.0, 0.4]`` with an auxiliary head).
        seed: Seeds numpy, nnabla and the data order.
        n_iter: ProxylessNAS: architectures sampled per architecture update.
        baseline_decay: ProxylessNAS: decay of the reward's moving-average baseline.
        reward: ProxylessNAS: ``accuracy`` (``1 - error``) or ``loss`` (``-loss``)
            of a sampled architecture on the validation mini-batches.
        gradient_estimator: ProxylessNAS: ``reinforce`` (score function over
            ``n_iter`` sampled architectures) or ``binary_gates`` (the paper's
            gradient mode: two sampled operators per choice point behind
            binary gates, one backward pass).
        train_paths: ProxylessNAS: paths drawn per weight step on the same
            batch, their gradients summed before the update.
        recompute: Drop the outputs of cheap functions (ReLU, batch
            normalization, pooling, reshapes) after the forward pass and
            recompute them in the backward pass: the same numbers with about a
            third less memory, for more time. None (default) chooses per
            algorithm: on for DARTS (whose supernet is the memory problem), off
            otherwise.
        context: ``cpu`` or ``cudnn`` (the ``-c`` flag overrides it).
        device_id: GPU index (the ``-d`` flag overrides it).
        type_config: ``float`` or ``half`` (the ``-t`` flag overrides it).
        quiet: No progress bars or console lines.
        output_path: The run's output folder (the ``-o`` flag sets it).

    Building one in Python runs the same checks as a config file.
    """

    epoch: int = 1
    warmup: int = 0
    batch_size_train: int = 64
    batch_size_valid: int = 64
    mini_batch_train: int = 0
    mini_batch_valid: int = 0
    print_frequency: int = 10
    input_shapes: Optional[List[List[int]]] = None
    target_shapes: Optional[List[List[int]]] = None
    loss_weights: Optional[List[float]] = None
    seed: int = 0
    n_iter: int = 10
    baseline_decay: float = 0.95
    reward: str = "accuracy"
    gradient_estimator: str = "reinforce"
    train_paths: int = 1
    recompute: Optional[bool] = None
    context: str = "cpu"
    device_id: str = "0"
    type_config: str = "float"
    quiet: bool = False
    output_path: str = ""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            check_type(f"hparams.{f.name}", getattr(self, f.name), f.default)
        self.mini_batch_train = self.mini_batch_train or self.batch_size_train
        self.mini_batch_valid = self.mini_batch_valid or self.batch_size_valid
        self.check()

    @classmethod
    def from_dict(cls, options: dict, path: str = "hparams") -> "Hparams":
        """Validates ``options`` and builds the Hparams.

        Raises:
            ConfigError: Unknown key, wrong type or out-of-range value.
        """
        if not isinstance(options, dict):
            raise ConfigError(f"{path}: expected an object, got {options!r}")
        options = dict(options)
        # Compatibility: integer device ids.
        if isinstance(options.get("device_id"), int) and not isinstance(options["device_id"], bool):
            options["device_id"] = str(options["device_id"])
        check_kwargs(cls, options, path)
        return cls(**options)

    def check(self, path: str = "hparams") -> None:
        """Range checks; raises :class:`ConfigError` naming the key."""
        for key in ("epoch", "batch_size_train", "batch_size_valid", "mini_batch_train",
                    "mini_batch_valid", "print_frequency", "n_iter", "train_paths"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"{path}.{key}: must be at least 1, got {getattr(self, key)}")
            setattr(self, key, int(getattr(self, key)))
        if int(self.warmup) < 0:
            raise ConfigError(f"{path}.warmup: must be 0 or more, got {self.warmup}")
        self.warmup = int(self.warmup)
        for split in ("train", "valid"):
            batch, mini = getattr(self, f"batch_size_{split}"), getattr(self, f"mini_batch_{split}")
            if batch % mini:
                raise ConfigError(f"{path}.mini_batch_{split}: {mini} does not divide "
                                  f"batch_size_{split} ({batch}); use a divisor of {batch}")
        if not 0 <= self.baseline_decay < 1:
            raise ConfigError(f"{path}.baseline_decay: must be in [0, 1), got {self.baseline_decay}")
        if self.recompute is not None and not isinstance(self.recompute, bool):
            raise ConfigError(f"{path}.recompute: expected true, false or null, "
                              f"got {self.recompute!r}")
        if self.reward not in ("accuracy", "loss"):
            raise ConfigError(f"{path}.reward: unknown reward '{self.reward}'; "
                              f"valid: accuracy, loss")
        if self.gradient_estimator not in ("reinforce", "binary_gates"):
            raise ConfigError(f"{path}.gradient_estimator: unknown estimator "
                              f"'{self.gradient_estimator}'; valid: reinforce, binary_gates")
        if self.loss_weights is not None and (
                not self.loss_weights or
                not all(isinstance(w, (int, float)) and not isinstance(w, bool)
                        for w in self.loss_weights)):
            raise ConfigError(f"{path}.loss_weights: expected a list of numbers, "
                              f"got {self.loss_weights!r}")
        if self.input_shapes is not None and not _is_shape_list(self.input_shapes):
            raise ConfigError(f"{path}.input_shapes: expected a list of shapes such as "
                              f"[[3, 32, 32]], got {self.input_shapes!r}")

    @property
    def accum_train(self) -> int:
        """Mini-batches accumulated per weight update."""
        return self.batch_size_train // self.mini_batch_train

    @property
    def accum_valid(self) -> int:
        """Mini-batches accumulated per architecture update."""
        return self.batch_size_valid // self.mini_batch_valid

    def to_dict(self) -> dict:
        """Plain dict (for the resolved ``config.json``)."""
        return dataclasses.asdict(self)


def _is_shape_list(value) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(
        isinstance(s, list) and s and all(isinstance(d, int) and d > 0 for d in s)
        for s in value)
