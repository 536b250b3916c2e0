"""Checkpoints that let an interrupted run continue where it stopped.

Layout, in ``<output>/checkpoint/``: ``params-<epoch>-<step>.h5`` (every
model parameter, architecture weights and batch-norm statistics included),
``solver-<name>-<epoch>-<step>.h5`` per optimizer, and ``state.json`` (epoch,
step inside the epoch (0 at epoch ends; a stop signal checkpoints mid-epoch),
optimizer iterations, data-loader positions, random states, algorithm state,
and the names of the files above). ``state.json`` is written last and
atomically: it is the commit point, so a crash at any moment leaves either
the previous checkpoint or the new one, never a mix.
"""

import json
import os
from typing import List

import numpy as np

from ..utils.io import load_h5_parameters, save_h5_parameters, write_text_atomic

FOLDER = "checkpoint"
STATE = "state.json"


def _rng_to_json(rng: np.random.RandomState) -> list:
    name, keys, pos, has_gauss, gauss = rng.get_state()
    return [name, keys.tolist(), int(pos), int(has_gauss), float(gauss)]


def _rng_from_json(rng: np.random.RandomState, state: list) -> None:
    name, keys, pos, has_gauss, gauss = state
    rng.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))


def _module_rngs(model) -> List[np.random.RandomState]:
    return [m.rng for _, m in model.get_modules()
            if isinstance(getattr(m, "rng", None), np.random.RandomState)]


def save(runner) -> str:
    """Writes the checkpoint of ``runner`` (after ``runner.epoch`` epochs)."""
    folder = os.path.join(runner.output_path, FOLDER)
    os.makedirs(folder, exist_ok=True)
    epoch = runner.epoch
    tag = f"{epoch}-{runner.step}"  # a new name each time: the committed files stay intact
    files = {"params": f"params-{tag}.h5"}
    save_h5_parameters(os.path.join(folder, files["params"]), runner.model.get_parameters())
    for name, opt in runner.optimizer.items():
        files[f"solver-{name}"] = f"solver-{name}-{tag}.h5"
        opt.save(os.path.join(folder, files[f"solver-{name}"]))
    state = {
        "epoch": epoch,
        "files": files,
        "iterations": {name: opt.iteration for name, opt in runner.optimizer.items()},
        "loaders": {split: loader.state_dict() for split, loader in runner.dataloader.items()},
        "numpy": _rng_to_json(np.random.mtrand._rand),
        "module_rngs": [_rng_to_json(r) for r in _module_rngs(runner.model)],
        "runner": runner.state(),
    }
    write_text_atomic(os.path.join(folder, STATE), json.dumps(state) + "\n")
    keep = set(files.values()) | {STATE}
    for name in os.listdir(folder):
        if name not in keep:
            os.remove(os.path.join(folder, name))
    return folder


def exists(output_path: str) -> bool:
    """Whether ``output_path`` holds a committed checkpoint."""
    return os.path.isfile(os.path.join(output_path, FOLDER, STATE))


def read_state(output_path: str) -> dict:
    """The committed ``state.json`` of ``output_path``."""
    with open(os.path.join(output_path, FOLDER, STATE)) as f:
        return json.load(f)


def load(runner) -> bool:
    """Restores ``runner`` from its output folder's checkpoint, if any.

    Returns:
        True if a checkpoint was loaded.
    """
    if not exists(runner.output_path):
        return False
    folder = os.path.join(runner.output_path, FOLDER)
    state = read_state(runner.output_path)
    files = state["files"]
    runner.model.set_parameters(load_h5_parameters(os.path.join(folder, files["params"])),
                                raise_if_missing=True)
    for name, opt in runner.optimizer.items():
        # Register every parameter the optimizer will ever see before loading.
        opt.set_parameters(runner.optimizer_parameters(name))
        opt.load(os.path.join(folder, files[f"solver-{name}"]), state["iterations"][name])
    for split, loader in runner.dataloader.items():
        loader.load_state_dict(state["loaders"][split])
    _rng_from_json(np.random.mtrand._rand, state["numpy"])
    rngs = _module_rngs(runner.model)
    if len(rngs) != len(state["module_rngs"]):
        raise ValueError(f"checkpoint in '{folder}' was written by a different network "
                         f"({len(state['module_rngs'])} random states, this one has {len(rngs)})")
    for rng, saved in zip(rngs, state["module_rngs"]):
        _rng_from_json(rng, saved)
    runner.epoch = int(state["epoch"])
    runner.load_state(state.get("runner", {}))
    return True
