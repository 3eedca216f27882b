"""Run the pretrained tier (`--suite paper`: every registered LM family's paper tasks) on a GPU and print, per family,
the wall time, the model tokens processed per second and the model FLOPs utilisation

    MFU = model FLOPs / (wall time x peak dense bf16 FLOP/s of the GPU),

where model FLOPs are counted on every decoder-layer and LM-head call (global forward hook): tokens x parameters of
the module x 6 when the call builds a graph for a backward pass (training) and x 2 otherwise (scoring, evaluation,
generation) -- the usual 6N / 2N per token, attention's quadratic term left out. LoRA backward passes cost less
than 6N, so MFU is an upper estimate there. Peaks come from the table below (dense bf16 tensor-core TFLOP/s per
GPU; pass --peak-tflops for others).

    python benchmarks/paper_tier_gpu.py                    # all paper tasks, their default seeds, on CUDA
    python benchmarks/paper_tier_gpu.py --seeds 1 --results /tmp/paper-gpu
    python benchmarks/paper_tier_gpu.py --dry-run          # CPU, smoke sizes (tiny models): checks the script

Records go to --results (a scratch directory by default, so a GPU run never mixes into committed results unless you
point it at results/)."""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, from the vendors' data sheets
PEAK_BF16_TFLOPS = {
    "H200": 989.0,
    "H100 SXM": 989.0,
    "H100 80GB HBM3": 989.0,
    "H100 NVL": 835.0,
    "H100 PCIE": 756.0,
    "H100": 756.0,  # unspecified H100: the PCIe figure (conservative)
    "GH200": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10G": 70.0,
    "A10": 125.0,
    "RTX 4090": 165.0,
}


def peak_for(name: str) -> float | None:
    up = name.upper()
    for key in sorted(PEAK_BF16_TFLOPS, key=len, reverse=True):  # most specific first
        if key.upper() in up:
            return PEAK_BF16_TFLOPS[key]
    return None


class FlopCounter:
    """Counts tokens and model FLOPs of decoder-layer and LM-head calls through a global forward hook."""

    def __init__(self) -> None:
        self.flops = 0.0
        self.train_tokens = 0
        self.forward_tokens = 0
        self._params: dict[int, int] = {}
        self._handle = None

    def _n(self, module) -> int:
        k = id(module)
        if k not in self._params:
            self._params[k] = sum(p.numel() for p in module.parameters())
        return self._params[k]

    def hook(self, module, args, output) -> None:
        import torch

        name = type(module).__name__
        is_layer = name.endswith("DecoderLayer") or name in ("GPT2Block", "Block")
        is_head = name == "Linear" and getattr(module, "_dcai_is_head", False)
        if not (is_layer or is_head):
            return
        x = args[0] if args else None
        if not torch.is_tensor(x):
            return
        tokens = int(x.numel() // x.shape[-1])
        train = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in module.parameters()))
        self.flops += (6 if train else 2) * self._n(module) * tokens
        if is_layer and getattr(module, "_dcai_first", False):
            if train:
                self.train_tokens += tokens
            else:
                self.forward_tokens += tokens

    def __enter__(self):
        import torch

        self._handle = torch.nn.modules.module.register_module_forward_hook(self.hook)
        return self

    def __exit__(self, *exc) -> None:
        self._handle.remove()


def mark_models() -> None:
    """Tag LM heads and the last decoder layer of every causal LM built from now on (token counting)."""
    import transformers

    orig = transformers.PreTrainedModel.post_init

    def post_init(self, *a, **k):
        orig(self, *a, **k)
        head = getattr(self, "lm_head", None)
        if head is not None:
            head._dcai_is_head = True
        from bench.lm.models import decoder_layers

        layers = decoder_layers(self)
        if layers is not None and len(layers):
            layers[-1]._dcai_first = True  # every token passes the top layer once (the trunk skips only the bottom)

    transformers.PreTrainedModel.post_init = post_init


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="CPU, smoke sizes: check the script without a GPU")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per task (default: each task's default_seeds)")
    ap.add_argument("--tasks", nargs="*", default=None, help="paper tasks (names or globs); default: all")
    ap.add_argument("--methods", nargs="*", default=None, help="methods (names or globs); default: all")
    ap.add_argument("--results", type=Path, default=None, help="records directory (default: a temporary one)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="peak dense bf16 TFLOP/s (overrides the table)")
    a = ap.parse_args(argv)

    import torch

    from bench.registry import TASKS, discover
    from bench.runner import plan, run_cell

    discover()
    if not a.dry_run and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --dry-run to check the script on CPU")
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() and not a.dry_run else "cpu (dry run)"
    peak = a.peak_tflops or (peak_for(device) if device != "cpu (dry run)" else None)
    if a.dry_run:
        import bench.runner as runner

        runner._device = lambda: "cpu"  # the dry run stays on CPU even where a GPU exists
    mark_models()
    paper = sorted({c.task for c in plan(suite="paper")})
    tasks = paper if not a.tasks else [t for t in paper if any(t in TASKS.match(p) for p in a.tasks)]
    cells = plan(tasks=tasks, methods=a.methods, seeds=1 if a.dry_run else a.seeds, smoke=a.dry_run)
    results = a.results or Path(tempfile.mkdtemp(prefix="dcai-paper-gpu-"))
    per: dict[str, dict] = defaultdict(lambda: {"cells": 0, "failed": 0, "wall": 0.0, "flops": 0.0, "train_tokens": 0,
                                                "forward_tokens": 0})
    print(f"device: {device}; peak bf16 dense: {peak or 'n/a'} TFLOP/s; {len(cells)} cells -> {results}", flush=True)
    t_all = time.perf_counter()
    for c in cells:
        fam = TASKS.get(c.task).family.split(".")[0]
        with FlopCounter() as fc:
            t = time.perf_counter()
            status, _ = run_cell(c, results, force=True)
            if torch.cuda.is_available() and not a.dry_run:
                torch.cuda.synchronize()
            dt = time.perf_counter() - t
        r = per[fam]
        r["cells"] += 1
        r["failed"] += status == "failed"
        r["wall"] += dt
        r["flops"] += fc.flops
        r["train_tokens"] += fc.train_tokens
        r["forward_tokens"] += fc.forward_tokens
        print(f"  {c.task} {c.method} seed {c.seed_index}: {status} in {dt:.1f} s", flush=True)
    total = time.perf_counter() - t_all
    print(f"\n{'family':14s} {'cells':>5s} {'failed':>6s} {'wall s':>8s} {'train tok/s':>12s} {'fwd tok/s':>10s} "
          f"{'TFLOP/s':>8s} {'MFU':>7s}")
    for fam, r in sorted(per.items()):
        w = max(r["wall"], 1e-9)
        tf = r["flops"] / w / 1e12
        mfu = f"{100 * tf / peak:.1f}%" if peak else "n/a"
        r.update(tflops=tf, mfu=(tf / peak if peak else None))
        print(f"{fam:14s} {r['cells']:5d} {r['failed']:6d} {w:8.1f} {r['train_tokens'] / w:12.0f} "
              f"{r['forward_tokens'] / w:10.0f} {tf:8.3f} {mfu:>7s}")
    print(f"total wall: {total:.1f} s ({total / 60:.1f} min)")
    return {"device": device, "peak_tflops": peak, "families": dict(per), "total_wall": total}


if __name__ == "__main__":
    main()
