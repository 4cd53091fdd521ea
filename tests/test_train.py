import pytest
import torch

from genlab import train


def test_history_logs_and_summarises():
    history = train.History()
    for step in range(5):
        history.log(step, loss=torch.tensor(float(step)), acc=step / 10)
    assert history.series("loss") == ([0, 1, 2, 3, 4], [0.0, 1.0, 2.0, 3.0, 4.0])
    assert history.mean("loss", last=2) == 3.5 and history.latest("acc") == 0.4 and history.last_step() == 4
    with pytest.raises(KeyError, match="logged"):
        history.series("nope")


def test_checkpoint_round_trip_with_metadata(tmp_path):
    torch.manual_seed(0)
    g, d = torch.nn.Linear(3, 4), torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.BatchNorm1d(2))
    path = tmp_path / "ckpt" / "gan.safetensors"
    train.save_checkpoint(path, {"G": g, "D": d}, {"step": 7, "profile": "smoke"})
    g2, d2 = torch.nn.Linear(3, 4), torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.BatchNorm1d(2))
    meta = train.load_checkpoint(path, {"G": g2, "D": d2})
    assert meta == {"step": 7, "profile": "smoke"}
    for a, b in zip(list(g.state_dict().values()) + list(d.state_dict().values()),
                    list(g2.state_dict().values()) + list(d2.state_dict().values())):
        assert torch.equal(a, b)


def test_checkpoint_errors_are_specific(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        train.load_checkpoint(tmp_path / "missing.safetensors", {"G": torch.nn.Linear(1, 1)})
    train.save_checkpoint(tmp_path / "a.safetensors", {"G": torch.nn.Linear(1, 1)})
    with pytest.raises(KeyError, match="no weights for 'D'"):
        train.load_checkpoint(tmp_path / "a.safetensors", {"D": torch.nn.Linear(1, 1)})


def test_results_table_prints_and_saves(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENLAB_RESULTS_DIR", str(tmp_path))
    monkeypatch.setenv("GENLAB_PROFILE", "smoke")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    train.results_table("99_test", {"auc": 0.91234, "steps": 10})
    assert "auc" in capsys.readouterr().out
    assert '"auc": 0.91234' in (tmp_path / "99_test.json").read_text()


def test_ema_half_life_in_images():
    from torch import nn

    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    ema = train.EMA(model, half_life_images=64, batch_size=32)  # half-life = 2 steps
    assert ema.decay == pytest.approx(0.5 ** 0.5)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update(model)
    ema.update(model)
    assert ema.module.weight.item() == pytest.approx(0.5)  # after one half-life the old weight (0) has half its say
    assert not ema.module.weight.requires_grad and not ema.module.training
    with pytest.raises(ValueError):
        train.EMA(model, half_life_images=0, batch_size=32)
