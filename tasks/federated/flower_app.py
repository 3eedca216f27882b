"""The FedAvg loop on Flower's simulation engine (Message API): the ServerApp sends the global model to the selected
clients each round, ClientApps train locally on their partition, and the mechanism turns the replies into aggregation
weights and client scores (payments). Replies are processed in partition order, so sequential and parallel client
execution give identical results."""
from __future__ import annotations

import contextlib
import os
import time
from typing import Any

import numpy as np

from .clients import FREE_RIDER, HONEST, local_update, partitions, predict


def _client_app():
    from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    app = ClientApp()

    @app.train()
    def train(msg: Message, context: Context):
        cfg = msg.content["config"]
        pid = int(context.node_config["partition-id"])
        clients, kinds, *_ = partitions(int(cfg["seed"]), int(cfg["n_clients"]), float(cfg["alpha"]), int(cfg["n_low"]))
        X, y = clients[pid]
        W = msg.content["arrays"].to_numpy_ndarrays()[0]
        W2 = local_update(W, X, y, kinds[pid], int(cfg["epochs"]), float(cfg["lr"]),
                          int(cfg["seed"]) * 1000 + int(cfg["round"]) * 100 + pid)
        hist = np.bincount(y, minlength=10).astype(np.float64)
        return Message(content=RecordDict({"arrays": ArrayRecord([W2, hist]),
                                           "metrics": MetricRecord({"pid": pid, "n": len(y)})}), reply_to=msg)

    return app


RAY_INIT = {"num_cpus": 2, "include_dashboard": False, "log_to_driver": False}


@contextlib.contextmanager
def _ray_kept_alive():
    """Flower's Ray backend starts Ray when it is not running and shuts it down after every simulation (~9 s of a
    ~19 s cell on 2 cores). Start it once per process and let Flower's shutdown be a no-op, so a sweep of cells reuses
    one Ray; Flower still terminates its client actors after each run. Inside a Ray worker (the ray executor) the
    existing cluster is used as before."""
    import ray
    from flwr.server.superlink.fleet.vce.backend import raybackend

    class _KeepAlive:
        def __getattr__(self, name):
            return getattr(ray, name)

        def shutdown(self, *a, **k):
            return None

    if not ray.is_initialized():
        ray.init(**RAY_INIT)
    orig = raybackend.ray
    raybackend.ray = _KeepAlive()
    try:
        yield
    finally:
        raybackend.ray = orig


def run_fedavg(mechanism, cfg, seed: int, parallel: bool) -> dict[str, Any]:
    """Run the whole federated training; returns curve, final scores, and the best-response analysis."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
    from flwr.serverapp import Grid, ServerApp
    from flwr.simulation import run_simulation

    clients, kinds, X_test, y_test, X_probe = partitions(seed, cfg.n_clients, cfg.alpha, cfg.n_low)
    truth = kinds if getattr(mechanism, "needs_truth", False) else None  # only oracle mechanisms see client types
    out: dict[str, Any] = {}
    server = ServerApp()

    @server.main()
    def main(grid: Grid, context: Context):
        t0 = time.time()
        while len(list(grid.get_node_ids())) < cfg.n_clients:
            if time.time() - t0 > 120:
                raise RuntimeError("Flower simulation: supernodes did not register within 120 s")
            time.sleep(0.05)
        nodes = sorted(grid.get_node_ids())
        rng = np.random.default_rng(seed + 17)
        W = np.zeros((X_test.shape[1] + 1, 10))
        curve, scores = [], np.zeros(cfg.n_clients)
        last = None
        for r in range(cfg.rounds):
            sel = mechanism.select(r, cfg.n_clients, rng)
            conf = ConfigRecord({"seed": seed, "n_clients": cfg.n_clients, "alpha": cfg.alpha, "n_low": cfg.n_low,
                                 "epochs": cfg.local_epochs, "lr": cfg.lr, "round": r})
            msgs = [Message(content=RecordDict({"arrays": ArrayRecord([W]), "config": conf}), message_type="train",
                            dst_node_id=n) for n in nodes]
            replies = [m for m in grid.send_and_receive(msgs, timeout=300) if not m.has_error()]
            got = {}
            for m in replies:
                pid = int(m.content["metrics"]["pid"])
                Wc, hist = m.content["arrays"].to_numpy_ndarrays()
                got[pid] = (Wc, hist)
            pids = [p for p in sorted(got) if p in set(sel)]
            if not pids:
                curve.append(curve[-1] if curve else 0.0)
                continue
            updates = np.stack([got[p][0] for p in pids])
            hists = np.stack([got[p][1] for p in pids])
            w, s = mechanism.aggregate(pids, updates, hists, W, X_probe, truth)
            scores[pids] = s
            W_new = np.tensordot(w / w.sum(), updates, axes=1) if w.sum() > 0 else W
            last = (pids, updates, hists, W)
            W = W_new
            curve.append(float(np.mean(predict(W, X_test) == y_test)))
        # best response: would an honest client earn more by free-riding (sending the global model back)?
        br = []
        if last is not None:
            pids, updates, hists, W_prev = last
            _, base_scores = mechanism.aggregate(pids, updates, hists, W_prev, X_probe, truth)
            share = base_scores / max(np.abs(base_scores).sum(), 1e-12)
            for j, p in enumerate(pids):
                if kinds[p] != HONEST:
                    continue
                dev = updates.copy()
                dev[j] = W_prev
                _, dev_scores = mechanism.aggregate(pids, dev, hists, W_prev, X_probe, truth)
                dev_share = dev_scores / max(np.abs(dev_scores).sum(), 1e-12)
                br.append(bool(share[j] - cfg.effort_cost / cfg.n_clients > dev_share[j]))
        out.update(curve=curve, scores=scores.tolist(), best_response=br)

    backend = {"client_resources": {"num_cpus": 1 if parallel else 2, "num_gpus": 0.0},
               "init_args": dict(RAY_INIT)}
    with _ray_kept_alive():
        run_simulation(server_app=server, client_app=_client_app(), num_supernodes=cfg.n_clients,
                       backend_config=backend)
    if "curve" not in out:
        raise RuntimeError("Flower simulation ended without results (see the Flower log above)")
    out["kinds"] = list(kinds)
    return out
