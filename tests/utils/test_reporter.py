"""`Reporter`: metrics.csv, log.txt, curves and quiet runs."""

import csv

from nnabla_nas.utils.reporter import FIELDS, Reporter


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_epochs_are_rows_and_resume_truncates_later_ones(tmp_path):
    rep = Reporter(str(tmp_path), quiet=True)
    for epoch in (1, 2, 3):
        rep.epoch(epoch, "train", {"loss": 1.0 / epoch, "error": 0.5}, 0.1, 2.0, "search")
    rep.truncate_metrics(3)
    got = rows(tmp_path / "metrics.csv")
    assert [r["epoch"] for r in got] == ["1", "2"]
    assert list(got[0]) == list(FIELDS)
    assert got[1]["loss"] == "0.500000" and got[1]["extra"] == "search"
    assert rep.draw_curves() == str(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rep.close()
    assert list((tmp_path / "tensorboard").iterdir())


def test_quiet_runs_print_nothing_but_log_everything(tmp_path, capsys):
    rep = Reporter(str(tmp_path), quiet=True)
    rep.info("hello")
    rep.debug("trace\nback")
    rep.close()
    assert capsys.readouterr().out == ""
    log = (tmp_path / "log.txt").read_text()
    assert "hello" in log and "trace\nback" in log
    loud = Reporter(str(tmp_path / ".."), quiet=False)
    loud.info("to the console")
    loud.close()
    assert "to the console" in capsys.readouterr().out


def test_arch_figures_are_columns_and_older_files_get_them(tmp_path):
    old = "epoch,split,loss,error,lr,seconds,extra\n1,train,0.9,0.5,0.1,1.0,warmup\n"
    (tmp_path / "metrics.csv").write_text(old)
    rep = Reporter(str(tmp_path), quiet=True)
    rep.epoch(2, "train", {"loss": 0.8, "error": 0.4}, 0.1, 1.0, "search")
    rep.epoch(2, "valid", {"loss": 0.7, "error": 0.3}, 3e-4, 1.0, "search",
              arch={"alpha_entropy": 0.99, "alpha_max_prob": 0.2, "param_free_share": 0.25,
                    "moved_share": 0.0})
    got = rows(tmp_path / "metrics.csv")
    assert list(got[0]) == list(FIELDS) and FIELDS[:7] == tuple(old.split("\n")[0].split(","))
    assert [r["epoch"] for r in got] == ["1", "2", "2"] and got[0]["extra"] == "warmup"
    assert [r["alpha_entropy"] for r in got] == ["", "", "0.990000"]
    assert got[2]["param_free_share"] == "0.250000" and "moved_share" not in got[2]
    rep.truncate_metrics(2)
    assert len(rows(tmp_path / "metrics.csv")) == 1
    rep.epoch(2, "valid", {"loss": 0.7, "error": 0.3}, 3e-4, 1.0, "search",
              arch={"alpha_entropy": 0.99, "alpha_max_prob": 0.2, "param_free_share": 0.25})
    assert rep.draw_curves()  # with the architecture panel
    rep.close()
    assert b"arch/alpha_entropy" in b"".join(p.read_bytes()
                                             for p in (tmp_path / "tensorboard").iterdir())
