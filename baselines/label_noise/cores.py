"""CORES² learner (Cheng et al., ICLR 2021): the phase-1 sample sieve trained to the end; predictions of the final
model. Details and differences from the authors' code: baselines/label_noise/_cores.py."""
from __future__ import annotations

from bench.api import register_method

from ._common import epochs_for, predict, seed32
from ._cores import CoresConfig, run_cores


@register_method("cores", family="label_noise.robust", config=CoresConfig, paper="Cheng et al., ICLR 2021")
def cores(data, cfg: CoresConfig, ctx):
    """Confidence-regularised sample sieve (CORES² phase 1)."""
    model, _ = run_cores(data.X, data.y, data.n_classes, seed32(ctx), epochs_for(cfg.epochs, ctx), cfg)
    return predict(model, data.X_test)
