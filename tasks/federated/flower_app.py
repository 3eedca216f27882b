"""FedAvg with a mechanism, as a Flower ServerApp/ClientApp pair (Flower Message API).

One server loop (`fedavg_loop`) serves three engines that differ only in how a round's training requests reach the
clients:
- `local`: the loop calls `client_train` directly (no messages): used for the leader's what-if runs;
- `flower`: the same ServerApp and ClientApp, with messages delivered in-process and in order by `DirectGrid`
  (a `flwr.serverapp.Grid`): no Ray, no threads; the default for every cell;
- `flower-ray`: the same ServerApp and ClientApp on Flower's simulation engine (`flwr.simulation.run_simulation`,
  Ray backend, one ClientApp actor per CPU).
Replies are processed in client order, so the three engines give identical results (tests/test_federated.py runs the
same cell on each and compares curves, scores, payments and weights exactly).

The clients' actions (effort) live in the ClientApp's closure: the server never sends or sees them.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .clients import World, WorldSpec, build_world, client_train, init_model, predict
from .contract import Mechanism, RoundView, payments

ENGINES = ("local", "flower", "flower-ray")
_MESSAGE_IDS = itertools.count()


@dataclass
class RunResult:
    """One federated training run. Per-round lists are indexed by client (NaN: did not take part)."""

    test_curve: list[float] = field(default_factory=list)
    val_curve: list[float] = field(default_factory=list)
    scores: list[list[float]] = field(default_factory=list)
    weights: list[list[float]] = field(default_factory=list)  # normalised aggregation weights (0: not aggregated)
    payments: list[list[float]] = field(default_factory=list)
    checkpoints: list[np.ndarray] = field(default_factory=list)  # global models at the start of checkpoint_rounds

    def total_payment_per_round(self) -> float:
        return float(np.mean([np.nansum(p) for p in self.payments])) if self.payments else 0.0


TrainRound = Callable[[np.ndarray, list[int], int], dict[int, tuple[np.ndarray, np.ndarray]]]
MakeView = Callable[[int, tuple[int, ...], np.ndarray, np.ndarray, np.ndarray], RoundView]


def fedavg_loop(world: World, mechanism: Mechanism, reward: float, rounds: int, server_seed: int,
                make_view: MakeView, train_round: TrainRound, checkpoint_rounds: tuple[int, ...] = ()) -> RunResult:
    """The server: each round, select participants, collect their models, score them, pay, aggregate."""
    N = world.spec.n_clients
    rng = np.random.default_rng(server_seed)
    W = init_model()
    res = RunResult()
    for r in range(rounds):
        if r in checkpoint_rounds:
            res.checkpoints.append(W.copy())
        sel = mechanism.check_selection(mechanism.select(r, N, rng), N)
        replies = train_round(W, sel, r) if sel else {}
        pids = tuple(p for p in sel if p in replies)
        s_row, w_row, p_row = np.full(N, np.nan), np.zeros(N), np.full(N, np.nan)
        if pids:
            updates = np.stack([replies[p][0] for p in pids])
            hists = np.stack([replies[p][1] for p in pids])
            view = make_view(r, pids, updates, hists, W)
            s = mechanism.score(view)
            s, w = mechanism.check_round(view, s, mechanism.weights(view, s))
            idx = list(pids)
            s_row[idx], p_row[idx] = s, payments(s, reward)
            if w.sum() > 0:
                w_row[idx] = w / w.sum()
                W = np.tensordot(w_row[idx], updates, axes=1)
        res.scores.append(s_row.tolist())
        res.weights.append(w_row.tolist())
        res.payments.append(p_row.tolist())
        res.test_curve.append(float(np.mean(predict(W, world.X_test) == world.y_test)))
        res.val_curve.append(float(np.mean(predict(W, world.X_val) == world.y_val)))
    return res


# -- engines --------------------------------------------------------------------------------------------------------
def run_fedavg(engine: str, spec: WorldSpec, actions: tuple[int, ...], mechanism: Mechanism, reward: float,
               rounds: int, epochs: int, lr: float, server_seed: int, make_view: MakeView,
               checkpoint_rounds: tuple[int, ...] = ()) -> RunResult:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (choose from {ENGINES})")
    world = build_world(spec)
    if engine == "local":
        def train_round(W, pids, r):
            return {p: client_train(world, p, actions[p], W, r, epochs, lr) for p in pids}

        return fedavg_loop(world, mechanism, reward, rounds, server_seed, make_view, train_round, checkpoint_rounds)
    client_app = _client_app(spec, tuple(actions), epochs, lr)
    out: dict[str, RunResult] = {}
    server_app = _server_app(world, mechanism, reward, rounds, server_seed, make_view, out, checkpoint_rounds)
    if engine == "flower":
        with DirectGrid(client_app, spec.n_clients) as grid:
            from flwr.app import Context, RecordDict

            server_app(grid, Context(run_id=grid.run.run_id, node_id=0, node_config={}, state=RecordDict(),
                                     run_config={}))
    else:
        _run_on_ray(server_app, client_app, spec.n_clients)
    if "result" not in out:
        raise RuntimeError("Flower run ended without results (see the Flower log above)")
    return out["result"]


def _client_app(spec: WorldSpec, actions: tuple[int, ...], epochs: int, lr: float):
    from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    app = ClientApp()

    @app.query()
    def query(msg: Message, context: Context):
        return Message(RecordDict({"metrics": MetricRecord({"pid": int(context.node_config["partition-id"])})}),
                       reply_to=msg)

    @app.train()
    def train(msg: Message, context: Context):
        pid = int(context.node_config["partition-id"])
        W = msg.content["arrays"].to_numpy_ndarrays()[0]
        W2, hist = client_train(build_world(spec), pid, actions[pid], W, int(msg.content["config"]["round"]),
                                epochs, lr)
        return Message(RecordDict({"arrays": ArrayRecord([W2, hist]), "metrics": MetricRecord({"pid": pid})}),
                       reply_to=msg)

    return app


def _server_app(world: World, mechanism: Mechanism, reward: float, rounds: int, server_seed: int,
                make_view: MakeView, out: dict, checkpoint_rounds: tuple[int, ...] = ()):
    from flwr.app import ArrayRecord, ConfigRecord, Message, RecordDict
    from flwr.serverapp import Grid, ServerApp

    app = ServerApp()

    @app.main()
    def main(grid: Grid, context):
        N = world.spec.n_clients
        t0 = time.time()
        while len(list(grid.get_node_ids())) < N:
            if time.time() - t0 > 120:
                raise RuntimeError("Flower: supernodes did not register within 120 s")
            time.sleep(0.05)
        nodes = sorted(grid.get_node_ids())
        asks = [Message(RecordDict(), dst_node_id=n, message_type="query") for n in nodes]
        node_of = {int(m.content["metrics"]["pid"]): m.metadata.src_node_id
                   for m in grid.send_and_receive(asks, timeout=300) if not m.has_error()}

        def train_round(W, pids, r):
            msgs = [Message(RecordDict({"arrays": ArrayRecord([W]), "config": ConfigRecord({"round": r})}),
                            dst_node_id=node_of[p], message_type="train") for p in pids]
            got = {}
            for m in grid.send_and_receive(msgs, timeout=300):
                if not m.has_error():
                    Wc, hist = m.content["arrays"].to_numpy_ndarrays()
                    got[int(m.content["metrics"]["pid"])] = (Wc, hist)
            return got

        out["result"] = fedavg_loop(world, mechanism, reward, rounds, server_seed, make_view, train_round,
                                    checkpoint_rounds)

    return app


def DirectGrid(client_app, n_nodes: int):
    """A Flower `Grid` that delivers each message to the ClientApp in this process, in order, and returns its reply.
    It stands where the SuperLink and the Ray-backed SuperNodes stand in a simulation: the ServerApp and ClientApp
    code is the same. Node ids are 1000 + partition id. Use as a context manager."""
    grid = _direct_grid_class()()
    grid._init(client_app, n_nodes)
    return grid


@functools.lru_cache(maxsize=1)
def _direct_grid_class():
    from flwr.serverapp import Grid  # imported lazily: discovering tasks must not import Flower

    return type("DirectGridImpl", (_DirectGridMixin, Grid), {})


class _DirectGridMixin:
    def _init(self, client_app, n_nodes: int) -> None:
        from flwr.supercore.run import Run

        self._app = client_app
        self._nodes = {1000 + p: p for p in range(n_nodes)}
        self._run = Run.create_empty(run_id=1)
        self._replies: dict[str, Any] = {}
        self._saved = None

    def __enter__(self):
        self._saved = _set_identity(1, self._run.run_id, 1)  # the SuperLink's node id is 1 in Flower
        return self

    def __exit__(self, *exc):
        _restore_identity(self._saved)
        return False

    def set_run(self, run) -> None:
        self._run = run

    @property
    def run(self):
        return self._run

    def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):
        from flwr.app import Message

        return Message(content, dst_node_id=dst_node_id, message_type=message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self):
        return list(self._nodes)

    def push_messages(self, messages):
        from flwr.app import Context, RecordDict

        ids = []
        for msg in messages:
            mid = f"direct-{next(_MESSAGE_IDS)}"
            msg.metadata.__dict__["_message_id"] = mid
            pid = self._nodes[msg.metadata.dst_node_id]
            ctx = Context(run_id=self._run.run_id, node_id=msg.metadata.dst_node_id,
                          node_config={"partition-id": pid, "num-partitions": len(self._nodes)},
                          state=RecordDict(), run_config={})
            prev = _set_identity(1, self._run.run_id, msg.metadata.dst_node_id)
            try:
                self._replies[mid] = self._app(msg, ctx)
            finally:
                _restore_identity(prev)
            ids.append(mid)
        return ids

    def pull_messages(self, message_ids):
        return [self._replies.pop(m) for m in message_ids if m in self._replies]

    def send_and_receive(self, messages, *, timeout=None):
        return self.pull_messages(self.push_messages(messages))


def _set_identity(task_id: int, run_id: int, node_id: int):
    """Flower (>= 1.2x) stamps messages with the identity of the process's task; in-process delivery plays the
    SuperLink's and each SuperNode's part in turn."""
    try:
        from flwr.supercore.task_identity import TaskIdentity
    except ImportError:  # pragma: no cover - older Flower without process identities
        return None
    saved = (TaskIdentity._task_id, TaskIdentity._run_id, TaskIdentity._node_id)
    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = task_id, run_id, node_id
    return saved


def _restore_identity(saved) -> None:
    if saved is None:
        return
    from flwr.supercore.task_identity import TaskIdentity

    TaskIdentity._task_id, TaskIdentity._run_id, TaskIdentity._node_id = saved


# -- Ray --------------------------------------------------------------------------------------------------------------
RAY_INIT = {"num_cpus": 2, "include_dashboard": False, "log_to_driver": False}


class RayStartError(RuntimeError):
    """Ray could not be started on this machine (not a result of the federated run)."""


def start_ray() -> None:
    """Start a local Ray if none is running, through the harness's robust start (`bench.executors.ray_init`: a
    configurable startup wait `DCAI_RAY_TIMEOUT_S`, one retry, nothing left running on failure)."""
    from bench.executors import ExecutorError, ray_init

    try:
        ray_init(num_cpus=RAY_INIT["num_cpus"])
    except ExecutorError as e:
        raise RayStartError(str(e)) from e


@contextlib.contextmanager
def _ray_kept_alive():
    """Flower's Ray backend shuts Ray down after every simulation; keep one Ray per process instead (Flower still
    terminates its client actors after each run)."""
    import ray
    from flwr.server.superlink.fleet.vce.backend import raybackend

    class _KeepAlive:
        def __getattr__(self, name):
            return getattr(ray, name)

        def shutdown(self, *a, **k):
            return None

    start_ray()
    orig = raybackend.ray
    raybackend.ray = _KeepAlive()
    try:
        yield
    finally:
        raybackend.ray = orig


def _run_on_ray(server_app, client_app, n_clients: int) -> None:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    from flwr.simulation import run_simulation

    backend = {"client_resources": {"num_cpus": 1, "num_gpus": 0.0}, "init_args": dict(RAY_INIT)}
    with _ray_kept_alive():
        run_simulation(server_app=server_app, client_app=client_app, num_supernodes=n_clients,
                       backend_config=backend)
