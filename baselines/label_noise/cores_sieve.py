"""CORES² as a detector (Cheng et al., ICLR 2021): train with the confidence-regularised sieve and read the sieve at
40 % of the training schedule (the authors' epoch 40 of 100): score = loss_sel = CE(f(x), y) - mean_j CE(f(x), j),
flag = loss_sel > 0. Details: baselines/label_noise/_cores.py."""
from __future__ import annotations

from pydantic import Field

from bench.api import register_method

from ._common import DetectionOutput, epochs_for, seed32
from ._cores import CoresConfig, run_cores


class Config(CoresConfig):
    detect_fraction: float = Field(0.4, gt=0.0, le=1.0, description="share of the schedule at which the sieve is read")


@register_method("cores_sieve", family="label_noise.detection", config=Config, paper="Cheng et al., ICLR 2021")
def cores_sieve(data, cfg: Config, ctx):
    """CORES² sample sieve read at 40 % of training."""
    epochs = epochs_for(cfg.epochs, ctx)
    at = min(int(cfg.detect_fraction * epochs), epochs - 1)
    _, sel = run_cores(data.X, data.y, data.n_classes, seed32(ctx), epochs, cfg, record_epoch=at, stop_after=at + 1)
    return DetectionOutput(scores=sel, flags=sel > 0)
