"""Co-teaching (Han et al., NeurIPS 2018): two networks; on each mini-batch each keeps its (1 - R(t)) smallest-loss
examples and the *other* network is updated on them. R(t) = tau * min(t / T_k, 1). tau, the forget rate, is the
noise rate estimated without clean labels (the Confident-Learning flag fraction) unless set explicitly."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from pydantic import Field

from bench.api import register_method

from ._common import epochs_for, mlp, seed32
from ._robust import TrainConfig, estimated_noise_rate


class Config(TrainConfig):
    forget_rate: float | None = Field(None, ge=0.0, lt=1.0, description="tau; None = estimated (CL flag fraction)")
    t_k: int = Field(10, ge=1, le=1000, description="epochs over which the forget rate ramps up to tau")


@register_method("coteaching", family="label_noise.robust", config=Config, paper="Han et al., NeurIPS 2018")
def coteaching(data, cfg: Config, ctx):
    """Co-teaching with an estimated forget rate."""
    s = seed32(ctx)
    tau = cfg.forget_rate if cfg.forget_rate is not None else estimated_noise_rate(data.X, data.y, data.n_classes, s)
    ctx.add_artifact("forget_rate", tau)
    torch.manual_seed(s)
    gen = torch.Generator().manual_seed(s)
    nets = [mlp(data.X.shape[1], data.n_classes, cfg.hidden) for _ in range(2)]
    opts = [torch.optim.Adam(n.parameters(), lr=cfg.lr) for n in nets]
    X, y = torch.as_tensor(data.X, dtype=torch.float32), torch.as_tensor(data.y)
    n = len(y)
    for ep in range(epochs_for(cfg.epochs, ctx)):
        rate = tau * min(ep / cfg.t_k, 1.0)
        perm = torch.randperm(n, generator=gen)
        for st in range(0, n, cfg.batch_size):
            idx = perm[st: st + cfg.batch_size]
            logits = [net(X[idx]) for net in nets]
            keep = max(1, int(round((1 - rate) * len(idx))))
            with torch.no_grad():
                small = [torch.argsort(F.cross_entropy(lg, y[idx], reduction="none"))[:keep] for lg in logits]
            for me, other in ((0, 1), (1, 0)):
                loss = F.cross_entropy(logits[me][small[other]], y[idx][small[other]])
                opts[me].zero_grad()
                loss.backward()
                opts[me].step()
    with torch.no_grad():
        p = sum(torch.softmax(net(torch.as_tensor(data.X_test, dtype=torch.float32)), 1) for net in nets)
    return np.asarray(p.argmax(1))
