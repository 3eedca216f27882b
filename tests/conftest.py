import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # one process per core already (pytest -n auto): a second torch/OpenMP thread per worker only oversubscribes the
    # cores (OpenMP threads spin-wait; measured: the suite's CPU time doubled, 1,310 s vs 715 s)
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
else:
    os.environ.setdefault("OMP_NUM_THREADS", "2")

import hashlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bench.api import UNBOUNDED, DatasetRef, Metric, Task, register_family, register_method, register_task  # noqa: E402
from bench.config import StrictConfig  # noqa: E402
from bench.contract import CONTRACTS, Contract, register_contract  # noqa: E402
from bench.registry import FAMILIES, METHODS, TASKS, discover  # noqa: E402

discover()


def benchmark_script(name: str):
    """A script of benchmarks/ imported as a module (they are scripts, not a package), e.g. "paper_tier_lane"."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent.parent / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tree_digest(*paths: Path) -> dict[str, str]:
    """sha256 of every file under the given paths (to show nothing changed)."""
    out = {}
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
        for f in files:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


class _EchoCfg(StrictConfig):
    value: float = 0.5
    fail: bool = False


class _EchoTask(Task):
    """A task whose metric is whatever the method returns: lets tests construct exact leaderboards."""

    family = "test.echo"
    version = "1"
    dataset = DatasetRef("test: echo")
    metrics = (Metric("score", "max", range=UNBOUNDED), Metric("loss", "min", range=UNBOUNDED))
    primary_metric = "score"
    default_seeds = 3

    def load(self, cfg, ctx):
        return {"seed": ctx.data_seed}

    def view(self, data, privileges, ctx):
        return dict(data)

    def evaluate(self, data, output, cfg, ctx):
        return {"score": output, "loss": 1.0 - output}


class _MethodCfg(StrictConfig):
    value: float = 0.5
    fail: bool = False
    noise: float = 0.0


def _echo(data, cfg, ctx):
    if cfg.fail:
        raise RuntimeError("boom (requested failure)")
    return cfg.value + cfg.noise * ctx.rng.standard_normal()


@pytest.fixture
def echo_task():
    """Registers family test.echo with task test-echo and methods echo_a, echo_b, echo_ref (reference)."""
    register_family("test.echo", "test family")
    register_contract(Contract("test.echo", input_type=dict, output_type=float))
    t = register_task(_EchoTask("test-echo"))
    register_method("echo_a", "test.echo", config=_MethodCfg)(_echo)
    register_method("echo_b", "test.echo", config=_MethodCfg)(_echo)
    register_method("echo_ref", "test.echo", config=_MethodCfg, kind="reference")(_echo)
    yield t
    TASKS.remove("test-echo")
    FAMILIES.remove("test.echo")
    CONTRACTS.remove("test.echo")
    for m in ("echo_a", "echo_b", "echo_ref"):
        METHODS.remove(m)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# -- parallel runs (pytest-xdist, `-n auto --dist loadgroup`: the README's test command) ---------------------------
# Which tests share a worker process, and the scheduler that applies it: tests/xdist_groups.py.
from xdist_groups import pytest_xdist_make_scheduler  # noqa: E402,F401  (a hook: pytest finds it by its name here)
