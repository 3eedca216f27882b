"""Result records: one JSON file per cell, schema-versioned, self-checksummed, written atomically.

Path of a record (derived from the cell key):
    <results>/<task>/v<task_version>/<method>/<config_hash[:12]>-s<seed_index>.json
The config hash covers the resolved config (task + method configs, seed index, smoke flag), so a changed config is a
new cell and never overwrites another one's record.
"""
from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .config import canonical_json
from .errors import RecordError

SCHEMA_VERSION = 2  # 2: provenance.source (content hashes of the method's and task's code)
READABLE_SCHEMAS = (1, 2)  # schema 1 records (no source hashes) are read as history
Status = Literal["ok", "failed", "smoke"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetricValue(_Strict):
    value: float | None
    direction: Literal["max", "min"]

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be finite or null")
        return v


class Hardware(_Strict):
    cpu: str
    cpu_count: int | None
    memory_gb: float | None = None
    gpu: str | None
    gpu_count: int


class SourceHashes(_Strict):
    method_file: str | None
    method_sha256: str | None
    task_file: str | None
    task_sha256: str | None
    support_sha256: str


class Provenance(_Strict):
    git_sha: str | None
    git_dirty: bool | None
    packages: dict[str, str]
    python: str
    platform: str
    hardware: Hardware
    wall_time_s: float
    peak_rss_mb: float
    peak_gpu_mb: float | None = None
    started_at: str
    executor: str = "serial"
    source: SourceHashes | None = None  # required from schema 2 on


class DatasetFingerprint(_Strict):
    id: str
    revision: str | None = None
    content_hash: str


class Record(_Strict):
    schema_version: int
    task: str
    task_version: str
    family: str
    method: str
    method_kind: Literal["method", "baseline", "null", "reference", "oracle"]
    seed_index: int
    seed: int
    data_seed: int
    status: Status
    primary_metric: str
    metrics: dict[str, MetricValue]
    config: dict[str, Any]
    config_hash: str
    dataset: DatasetFingerprint | None
    provenance: Provenance
    error: str | None = None
    origin: Literal["local", "submitted"] = "local"
    artifacts: dict[str, Any] = {}
    record_sha256: str

    @field_validator("schema_version")
    @classmethod
    def _schema(cls, v: int) -> int:
        if v not in READABLE_SCHEMAS:
            raise ValueError(f"unsupported schema_version {v} (this harness reads {list(READABLE_SCHEMAS)})")
        return v

    @model_validator(mode="after")
    def _schema_fields(self) -> "Record":
        if self.schema_version >= 2 and self.provenance.source is None:
            raise ValueError("schema 2 records carry provenance.source (the code's content hashes)")
        return self

    @field_validator("task", "method", "task_version")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"{v!r} is not a valid name (letters, digits, _.+- only)")
        return v

    @field_validator("config_hash")
    @classmethod
    def _hash(cls, v: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{64}", v):
            raise ValueError("must be a 64-character lowercase sha256 hex digest")
        return v

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        return (self.task, self.task_version, self.method, self.config_hash, self.seed_index)

    @property
    def rankable(self) -> bool:
        return self.status == "ok"


def checksum(body: dict[str, Any]) -> str:
    import hashlib

    clean = {k: v for k, v in body.items() if k != "record_sha256"}
    return hashlib.sha256(canonical_json(clean).encode()).hexdigest()


def seal(body: dict[str, Any]) -> dict[str, Any]:
    body = dict(body)
    body["record_sha256"] = checksum(body)
    return body


def relpath_for(task: str, task_version: str, method: str, config_hash: str, seed_index: int) -> Path:
    return Path(task) / f"v{task_version}" / method / f"{config_hash[:12]}-s{seed_index}.json"


def record_relpath(rec: Record) -> Path:
    return relpath_for(rec.task, rec.task_version, rec.method, rec.config_hash, rec.seed_index)


def parse_record(text: str, path: str = "<memory>") -> Record:
    """Parse and fully check a record: JSON, schema, checksum, metric directions. Raises RecordError naming the field."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as e:
        raise RecordError(f"not valid JSON (torn or truncated write?): {e}", path=path) from None
    if not isinstance(body, dict):
        raise RecordError("top level must be a JSON object", path=path)
    try:
        rec = Record.model_validate(body)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(x) for x in err.get("loc", ())) or None
        msg = "unknown field" if err.get("type") == "extra_forbidden" else err.get("msg", "invalid")
        more = f" (+{len(e.errors()) - 1} more problems)" if len(e.errors()) > 1 else ""
        raise RecordError(msg + more, path=path, field=field) from None
    if checksum(body) != rec.record_sha256:
        raise RecordError("checksum mismatch: the record was modified or corrupted after it was written",
                          path=path, field="record_sha256")
    if rec.primary_metric not in rec.metrics and rec.status != "failed":
        raise RecordError(f"primary metric '{rec.primary_metric}' missing from metrics", path=path, field="primary_metric")
    if rec.status == "failed" and not rec.error:
        raise RecordError("a failed record must say why", path=path, field="error")
    return rec


def read_record(path: Path) -> Record:
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise RecordError(f"cannot read: {e}", path=str(path)) from None
    return parse_record(text, str(path))


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same directory + fsync + rename: readers see the old or the new file, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        try:
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:  # pragma: no cover - some filesystems refuse directory fsync
            pass
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def dump_record(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, indent=1, allow_nan=False) + "\n"


def write_record(results_dir: Path, body: dict[str, Any]) -> Path:
    body = seal(body)
    rec = parse_record(json.dumps(body, allow_nan=False))  # never write what we would not read back
    path = Path(results_dir) / record_relpath(rec)
    atomic_write_text(path, dump_record(body))
    return path


def scan(results_dir: Path) -> tuple[list[tuple[Path, Record]], list[RecordError]]:
    """All records under results_dir (sorted by path) and the problems found (torn / invalid files)."""
    good: list[tuple[Path, Record]] = []
    bad: list[RecordError] = []
    root = Path(results_dir)
    if not root.exists():
        return good, bad
    for p in sorted(root.rglob("*.json")):
        if p.name.startswith("."):
            continue
        try:
            rec = read_record(p)
        except RecordError as e:
            bad.append(e)
            continue
        expected = root / record_relpath(rec)
        if p.resolve() != expected.resolve():
            bad.append(RecordError(f"record stored at the wrong path (expected {expected.relative_to(root)})",
                                   path=str(p)))
            continue
        good.append((p, rec))
    return good, bad
