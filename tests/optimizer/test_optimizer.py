import numpy as np
import pytest

from nnabla_nas.module import Parameter
from nnabla_nas.optimizer import SCHEDULERS, SOLVERS, Optimizer
from nnabla_nas.utils.registry import ConfigError


def params(*values):
    out = {}
    for i, v in enumerate(values):
        p = Parameter((len(v),), initializer=np.asarray(v, np.float32))
        out[f"p{i}"] = p
    return out


def test_registries_cover_nnabla():
    assert {"Sgd", "Momentum", "Adam", "AdamW", "Nesterov", "RMSprop"} <= set(SOLVERS.names())
    assert {"CosineScheduler", "StepScheduler"} <= set(SCHEDULERS.names())


def test_sgd_update_with_weight_decay():
    ps = params([1.0, -2.0])
    opt = Optimizer(name="Sgd", lr=0.1, weight_decay=0.5)
    opt.set_parameters(ps)
    ps["p0"].g = [0.2, 0.4]
    opt.update()
    # w - lr * (g + wd * w)
    np.testing.assert_allclose(ps["p0"].d, [1 - 0.1 * (0.2 + 0.5), -2 - 0.1 * (0.4 - 1.0)], rtol=1e-6)
    assert opt.iteration == 1


def test_grad_clip_by_global_norm():
    ps = params([0.0, 0.0], [0.0])
    opt = Optimizer(name="Sgd", lr=1.0, grad_clip=1.0)
    opt.set_parameters(ps)
    ps["p0"].g = [3.0, 0.0]
    ps["p1"].g = [4.0]
    assert opt.grad_norm() == pytest.approx(5.0)
    opt.update()
    # Global norm 5 clipped to 1: every gradient scaled by 1/5.
    np.testing.assert_allclose(ps["p0"].d, [-0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(ps["p1"].d, [-0.8], rtol=1e-5)
    # Below the threshold nothing is scaled.
    ps["p0"].g, ps["p1"].g = [0.3, 0.0], [0.4]
    opt.update()
    np.testing.assert_allclose(ps["p1"].d, [-1.2], rtol=1e-5)


def test_cosine_schedule_fills_init_lr_and_max_iter():
    opt = Optimizer(name="Momentum", lr=0.1, momentum=0.9, lr_scheduler="CosineScheduler",
                    max_iter=10)
    opt.set_parameters(params([1.0]))
    lrs = []
    for _ in range(10):
        lrs.append(opt.learning_rate())
        opt.update()
    expected = [0.1 * 0.5 * (1 + np.cos(np.pi * i / 10)) for i in range(10)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-5)


def test_step_scheduler_with_args():
    opt = Optimizer(name="Sgd", lr=1.0, lr_scheduler="StepScheduler",
                    lr_scheduler_args={"gamma": 0.5, "iter_steps": [2, 4]})
    opt.set_parameters(params([0.0]))
    seen = []
    for _ in range(5):
        seen.append(opt.learning_rate())
        opt.update()
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_adam_lr_is_alpha():
    opt = Optimizer(name="Adam", lr=0.123, beta1=0.5)
    assert opt.learning_rate() == pytest.approx(0.123)


@pytest.mark.parametrize("kwargs,match", [
    ({"name": "Adom"}, r"optimizer.name: unknown solver 'Adom' \(did you mean 'Adam'\?\)"),
    ({"name": "Adam", "bta1": 0.5}, r"unknown key 'bta1' \(did you mean 'beta1'\?\)"),
    ({"name": "Sgd", "lr_scheduler": "Cosine"}, r"lr_scheduler: unknown lr_scheduler 'Cosine'"),
    ({"name": "Sgd", "lr": "fast"}, r"optimizer.lr: expected a number"),
])
def test_bad_configs(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Optimizer(**kwargs)


def test_adam_state_survives_reregistration():
    """The step count keeps growing when the active set changes every step
    (the old package reset it, turning every update into a sign step)."""
    ps = params([1.0], [2.0])
    opt = Optimizer(name="Adam", lr=0.1)
    for step in range(6):
        active = {"p0": ps["p0"]} if step % 2 == 0 else {"p0": ps["p0"], "p1": ps["p1"]}
        opt.set_parameters(active)
        for p in active.values():
            p.g = [1.0]
        opt.update()
    states = opt._solver.get_states()
    assert states["p0"].t == 6
    assert states["p1"].t == 3
    opt.set_parameters({"p0": ps["p0"]})
    assert list(opt.get_parameters()) == ["p0"]
    opt.set_parameters(ps)
    assert opt._solver.get_states()["p1"].t == 3


def test_momentum_state_matches_uninterrupted_run():
    """Removing and re-adding a parameter gives the same trajectory as keeping it."""
    def run(reregister):
        ps = params([1.0, -1.0])
        opt = Optimizer(name="Momentum", lr=0.1, momentum=0.9)
        for step in range(5):
            if reregister:
                opt.set_parameters({})
            opt.set_parameters(ps)
            ps["p0"].g = [0.5, -0.25]
            opt.update()
        return ps["p0"].d.copy()
    np.testing.assert_allclose(run(True), run(False), rtol=1e-6)


def test_save_load_round_trip(tmp_path):
    ps = params([1.0, 2.0], [3.0])
    opt = Optimizer(name="Adam", lr=0.1)
    opt.set_parameters(ps)
    for _ in range(3):
        ps["p0"].g, ps["p1"].g = [1.0, 1.0], [1.0]
        opt.update()
    opt.set_parameters({"p0": ps["p0"]})  # p1 stashed: still saved
    path = str(tmp_path / "s.h5")
    opt.save(path)
    assert list(opt.get_parameters()) == ["p0"]

    other = Optimizer(name="Adam", lr=0.1)
    other.set_parameters(ps)
    other.load(path, iteration=3)
    assert other.iteration == 3
    assert list(other.get_parameters()) == ["p0"]  # p1 stashed again, as in opt
    a, b = opt.states(), other.states()
    assert list(a) == list(b) == ["p0", "p1"]
    for key in ("p0", "p1"):
        assert a[key].t == b[key].t == 3
        np.testing.assert_array_equal(a[key].pstate["mean"].d, b[key].pstate["mean"].d)
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        other.load(str(tmp_path / "missing.h5"), 0)


def adam_run(names, steps=4):
    """An Adam optimizer after ``steps`` updates with distinct gradients per parameter."""
    rng = np.random.RandomState(0)
    ps = {k: Parameter((3,), initializer=rng.randn(3).astype(np.float32)) for k in names}
    opt = Optimizer(name="Adam", lr=0.05, beta1=0.5, weight_decay=1e-3)
    opt.set_parameters(ps)
    for step in range(steps):
        for i, p in enumerate(ps.values()):
            p.g = rng.randn(3) * (i + 1)
        opt.update()
    return ps, opt


def assert_same_states(a, b):
    assert list(a) == list(b)
    for key in a:
        assert a[key].t == b[key].t, key
        assert sorted(a[key].pstate) == sorted(b[key].pstate), key
        for name in a[key].pstate:
            np.testing.assert_array_equal(a[key].pstate[name].d, b[key].pstate[name].d,
                                          err_msg=f"{key}/{name}")


def test_load_restores_each_parameter_by_its_exact_name(tmp_path):
    """Issue 17: nnabla's load_states gives ``alpha/1`` the moments of ``alpha/1x``
    (a name it is a prefix of); the DARTS cells name their 14 alphas like that."""
    names = [f"alpha/{i}" for i in range(12)]
    ps, opt = adam_run(names)
    path = str(tmp_path / "s.h5")
    opt.save(path)
    other = Optimizer(name="Adam", lr=0.05, beta1=0.5, weight_decay=1e-3)
    other.set_parameters(ps)
    other.load(path, opt.iteration)
    assert_same_states(opt.states(), other.states())


def test_load_reads_a_file_of_nnabla_save_states(tmp_path):
    """Checkpoints written before the fix (nnabla's layout, no order attributes)."""
    names = ["w/1", "w/10", "w/2"]
    ps, opt = adam_run(names)
    path = str(tmp_path / "old.h5")
    opt._solver.save_states(path)
    other = Optimizer(name="Adam", lr=0.05, beta1=0.5, weight_decay=1e-3)
    other.set_parameters(ps)
    other.load(path, opt.iteration)
    assert_same_states(dict(sorted(opt.states().items())), dict(sorted(other.states().items())))


def test_load_drops_parameters_the_saved_run_never_registered(tmp_path):
    ps, opt = adam_run(["a", "b"])
    path = str(tmp_path / "s.h5")
    opt.save(path)
    extra = {**ps, "c": Parameter((3,))}
    other = Optimizer(name="Adam", lr=0.05, beta1=0.5, weight_decay=1e-3)
    other.set_parameters(extra)
    other.load(path, opt.iteration)
    assert list(other.states()) == ["a", "b"] and list(other.get_parameters()) == ["a", "b"]
    fewer = Optimizer(name="Adam", lr=0.05)
    fewer.set_parameters({"a": ps["a"]})
    with pytest.raises(ValueError, match="does not have: b"):
        fewer.load(path, 0)


def test_grad_norm_does_not_depend_on_registration_history():
    """The solver keeps its parameters in a hash-map order that depends on how they
    were registered; the clipping norm sums in the caller's order instead, so a
    resumed run (registered at once) clips exactly as the live one (one by one)."""
    rng = np.random.RandomState(1)
    # Magnitudes from 1e-6 to 1e2, as in a network: the float64 sum then rounds.
    grads = {f"p{i}": (rng.randn(5) * 10 ** rng.uniform(-6, 2)).astype(np.float32)
             for i in range(200)}

    def norm(history):
        ps = {k: Parameter((5,)) for k in grads}
        opt = Optimizer(name="Sgd", lr=0.1, grad_clip=1.0)
        for keys in history:
            opt.set_parameters({k: ps[k] for k in keys})
        opt.set_parameters(ps)
        for k, p in ps.items():
            p.g = grads[k]
        return opt.grad_norm()

    keys = list(grads)
    at_once = norm([keys])
    for seed in range(5):  # sampled paths: parameters leave and come back
        draw = np.random.RandomState(seed)
        history = [[k for k in keys if draw.rand() < 0.5] for _ in range(6)]
        assert norm(history).hex() == at_once.hex()
