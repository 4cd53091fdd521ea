import pytest
import torch

from genlab import config


def test_profile_from_environment(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("GENLAB_PROFILE", "cpu")
    assert config.profile() == "cpu"
    monkeypatch.delenv("GENLAB_PROFILE")
    assert config.profile() == ("gpu" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("execution", ["autograde", "validate"])
def test_autograde_and_validate_use_smoke_unless_instructor_overrides(monkeypatch, execution):
    monkeypatch.setenv("GENLAB_PROFILE", "gpu")
    monkeypatch.setenv("NBGRADER_EXECUTION", execution)
    assert config.profile() == "smoke"
    monkeypatch.setenv("GENLAB_AUTOGRADE_PROFILE", "cpu")
    assert config.profile() == "cpu"


def test_bad_profile_says_which_are_valid(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("GENLAB_PROFILE", "fast")
    with pytest.raises(ValueError, match="smoke, cpu, gpu"):
        config.profile()


def test_budget_picks_the_active_profile(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("GENLAB_PROFILE", "smoke")
    table = {"smoke": {"steps": 10}, "cpu": {"steps": 100}, "gpu": {"steps": 1000}}
    assert config.budget(table).steps == 10
    with pytest.raises(KeyError, match="gpu"):
        config.budget({"smoke": {}, "cpu": {}})


def _tiny_training_run():
    config.seed_everything(123)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(20):
        x = torch.randn(32, 8)
        loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_seeding_makes_cpu_runs_bit_for_bit_repeatable():
    first, second = _tiny_training_run(), _tiny_training_run()
    assert torch.equal(first, second)


def test_seed_everything_returns_a_seeded_generator():
    a = torch.randn(3, generator=config.seed_everything(5))
    b = torch.randn(3, generator=config.seed_everything(5))
    assert torch.equal(a, b)


def test_setup_announces_the_measured_time_of_a_lesson(capsys, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setattr(config, "MEASURED_SECONDS", {"02_gan": {"smoke": 18, "cpu": 257}})
    for profile, expected in [("smoke", "about 18 s"), ("cpu", "about 4 min"), ("gpu", "not yet measured in the gpu")]:
        monkeypatch.setenv("GENLAB_PROFILE", profile)
        config.setup("02_gan")
        printed = capsys.readouterr().out
        assert f"02_gan: {expected}" in printed and f"profile={profile}" in printed, printed
        assert "data: MNIST: " in printed, f"the first cell must say where the lesson's data comes from:\n{printed}"
