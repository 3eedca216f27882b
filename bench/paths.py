"""Where the suite keeps what it builds (converted models, fine-tuned targets, frozen-trunk states, the discovery
index): DCAI_CACHE_DIR, else ~/.cache/dcai-bench."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(explicit: str | Path | None = None) -> Path:
    """`explicit` when given, else $DCAI_CACHE_DIR, else ~/.cache/dcai-bench."""
    return Path(explicit or os.environ.get("DCAI_CACHE_DIR", Path.home() / ".cache" / "dcai-bench"))
