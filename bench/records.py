"""Result records: one JSON file per cell, schema-versioned, self-checksummed, written atomically.

Path of a record (derived from the cell key):
    <results>/<task>/v<task_version>/<method>/<config_hash[:12]>-s<seed_index>.json
The config hash covers the resolved config (task + method configs, seed index, smoke flag), so a changed config is a
new cell and never overwrites another one's record.

Reading is defensive, because results/ is input anyone can write to (a pull request, a submission): only regular
files (no symlinks, FIFOs or devices), at most MAX_RECORD_BYTES, strict JSON (duplicate keys, NaN/Infinity, numbers
that overflow, integers longer than 20 digits and nesting deeper than MAX_JSON_DEPTH are refused) and strict types (no
string or boolean is coerced to a number). The seal (`record_sha256`) is an unkeyed sha256 of the content: it detects
torn writes and accidental edits, not forgery (anyone can recompute it); `dcai-bench verify` re-runs cells for that.
This module checks what a record says about itself; bench/validate.py checks it against the registry.
"""
from __future__ import annotations

import errno
import json
import math
import os
import re
import socket
import stat
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .config import canonical_json
from .errors import RecordError

SCHEMA_VERSION = 2  # 2: provenance.source (content hashes of the method's and task's code)
READABLE_SCHEMAS = (1, 2)  # schema 1 records (no source hashes) are read as history
Status = Literal["ok", "failed", "smoke"]
# names: whole-string match (a trailing newline does not pass), bounded length (no ENAMETOOLONG path parts)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+\-]{0,63}")
_FAMILY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_METRIC = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_GIT_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_RECORD_BYTES = 1 << 20  # 1 MiB; the largest record of the suite is ~4 KB
MAX_JSON_DEPTH = 32
MAX_INT_DIGITS = 20
MAX_SEED_INDEX = 10_000  # seed indices are 0..n-1 of a row; no protocol uses more than a few dozen
SEED_MODULUS = 2**31 - 1  # bench.seeding derives seeds in [0, 2^31 - 1)
# |metric| bound: means and variances over <= MAX_SEED_INDEX seeds stay finite in float64 (1e100^2 * 1e4 << 1.8e308)
MAX_ABS_METRIC = 1e100
TMP_MAX_AGE_S = 3600.0  # a temp file older than this is stale whoever wrote it


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class MetricValue(_Strict):
    value: float | None
    direction: Literal["max", "min"]

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be finite or null")
        if v is not None and abs(v) > MAX_ABS_METRIC:
            raise ValueError(f"|value| exceeds {MAX_ABS_METRIC:g}: no metric of this benchmark is that large")
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

    @field_validator("git_sha")
    @classmethod
    def _sha(cls, v: str | None) -> str | None:
        if v is not None and not _GIT_SHA.fullmatch(v):
            raise ValueError("must be a full git commit hash (40 or 64 lowercase hex digits) or null")
        return v


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
        if not _NAME.fullmatch(v):
            raise ValueError(f"{v[:80]!r} is not a valid name (1-64 of letters, digits, _.+- starting with a letter "
                             "or digit)")
        return v

    @field_validator("family")
    @classmethod
    def _family(cls, v: str) -> str:
        if not _FAMILY.fullmatch(v):
            raise ValueError(f"{v[:80]!r} is not a valid family name")
        return v

    @field_validator("primary_metric")
    @classmethod
    def _primary(cls, v: str) -> str:
        if not _METRIC.fullmatch(v):
            raise ValueError(f"{v[:80]!r} is not a valid metric name")
        return v

    @field_validator("metrics")
    @classmethod
    def _metric_names(cls, v: dict[str, MetricValue]) -> dict[str, MetricValue]:
        for k in v:
            if not _METRIC.fullmatch(k):
                raise ValueError(f"{k[:80]!r} is not a valid metric name")
        return v

    @field_validator("seed_index")
    @classmethod
    def _seed_index(cls, v: int) -> int:
        if not 0 <= v < MAX_SEED_INDEX:
            raise ValueError(f"seed indices are 0..n-1 (at most {MAX_SEED_INDEX}), got {v}")
        return v

    @field_validator("seed", "data_seed")
    @classmethod
    def _seed(cls, v: int) -> int:
        if not 0 <= v < SEED_MODULUS:
            raise ValueError(f"derived seeds lie in [0, {SEED_MODULUS}), got {v}")
        return v

    @field_validator("config_hash", "record_sha256")
    @classmethod
    def _hash(cls, v: str) -> str:
        if not _SHA256.fullmatch(v):
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


class _Refused(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number (NaN and Infinity are refused)")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise _Refused(f"number {text[:30]} overflows a float")
    return v


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Refused(f"duplicate key {k[:60]!r} (a JSON object names each key once)")
        out[k] = v
    return out


def _depth(obj: Any) -> int:
    """Nesting depth of a parsed JSON value, iteratively (no recursion on hostile input)."""
    deepest, stack = 0, [(obj, 1)] if isinstance(obj, (dict, list)) else []
    while stack:
        o, d = stack.pop()
        if d > deepest:
            deepest = d
        for v in (o.values() if isinstance(o, dict) else o):
            if isinstance(v, (dict, list)):
                stack.append((v, d + 1))
    return deepest


def loads_strict(text: str, path: str = "<memory>") -> Any:
    """json.loads that refuses what a record never contains: duplicate keys, NaN/Infinity, numbers that overflow,
    integers longer than MAX_INT_DIGITS and nesting deeper than MAX_JSON_DEPTH. Raises RecordError."""
    try:
        body = json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant, parse_int=_int,
                          parse_float=_float)
    except _Refused as e:
        raise RecordError(f"not strict JSON: {e}", path=path) from None
    except RecursionError:
        raise RecordError(f"not strict JSON: nested deeper than {MAX_JSON_DEPTH} levels", path=path) from None
    except (json.JSONDecodeError, ValueError) as e:
        raise RecordError(f"not valid JSON (torn or truncated write?): {str(e)[:200]}", path=path) from None
    if _depth(body) > MAX_JSON_DEPTH:
        raise RecordError(f"not strict JSON: nested deeper than {MAX_JSON_DEPTH} levels", path=path)
    return body


def parse_record(text: str, path: str = "<memory>") -> Record:
    """Parse and fully check a record: strict JSON, schema and types, checksum, status/metric consistency.
    Raises RecordError naming the file and the field."""
    body = loads_strict(text, path)
    if not isinstance(body, dict):
        raise RecordError("top level must be a JSON object", path=path)
    try:
        rec = Record.model_validate(body)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(x) for x in err.get("loc", ())) or None
        msg = "unknown field" if err.get("type") == "extra_forbidden" else err.get("msg", "invalid")
        more = f" (+{len(e.errors()) - 1} more problems)" if len(e.errors()) > 1 else ""
        raise RecordError(msg + more, path=path, field=field[:120] if field else None) from None
    if checksum(body) != rec.record_sha256:
        raise RecordError("checksum mismatch: the record was modified or corrupted after it was written",
                          path=path, field="record_sha256")
    if rec.primary_metric not in rec.metrics and rec.status != "failed":
        raise RecordError(f"primary metric '{rec.primary_metric}' missing from metrics", path=path, field="primary_metric")
    if rec.status == "failed" and not rec.error:
        raise RecordError("a failed record must say why", path=path, field="error")
    if rec.status != "failed" and rec.error is not None:
        raise RecordError(f"a record with status '{rec.status}' carries no error", path=path, field="error")
    return rec


def read_bytes_safely(path: Path, limit: int = MAX_RECORD_BYTES, follow_symlinks: bool = False) -> bytes:
    """The content of a regular file of at most `limit` bytes. Refuses (RecordError) symlinks (unless
    follow_symlinks), FIFOs, devices, sockets and directories without opening them for a blocking read, and larger
    files without reading them whole."""
    p = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        st = os.stat(p, follow_symlinks=follow_symlinks)
    except OSError as e:
        raise RecordError(f"cannot read: {e.strerror or e}", path=p) from None
    if stat.S_ISLNK(st.st_mode):
        raise RecordError("a symbolic link, not a record file (records are regular files)", path=p)
    if not stat.S_ISREG(st.st_mode):
        raise RecordError(f"not a regular file ({_kind(st.st_mode)})", path=p)
    if st.st_size > limit:
        raise RecordError(f"{st.st_size} bytes: larger than a record can be ({limit} bytes)", path=p)
    try:
        fd = os.open(p, flags)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise RecordError("a symbolic link, not a record file (records are regular files)", path=p) from None
        raise RecordError(f"cannot read: {e.strerror or e}", path=p) from None
    try:
        st = os.fstat(fd)  # the file we opened, not what the name pointed to a moment ago
        if not stat.S_ISREG(st.st_mode):
            raise RecordError(f"not a regular file ({_kind(st.st_mode)})", path=p)
        chunks, size = [], 0
        while True:
            b = os.read(fd, 1 << 16)
            if not b:
                break
            size += len(b)
            if size > limit:
                raise RecordError(f"larger than a record can be ({limit} bytes)", path=p)
            chunks.append(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def read_record(path: Path, follow_symlinks: bool = False) -> Record:
    data = read_bytes_safely(Path(path), follow_symlinks=follow_symlinks)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordError(f"not UTF-8 text: {e.reason} at byte {e.start}", path=str(path)) from None
    return parse_record(text, str(path))


# -- writing ----------------------------------------------------------------------------------------------------------
def _umask() -> int:
    """The process umask, read without changing it (Linux /proc), else by the set-and-restore idiom."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"
_TMP = re.compile(r"\.(?P<name>.+)\.(?P<host>[A-Za-z0-9-]{1,32})\.(?P<pid>\d+)\.[^.]+\.tmp")


def clean_stale_tmp(directory: Path, max_age_s: float = TMP_MAX_AGE_S) -> list[Path]:
    """Remove the temp files that an interrupted atomic write left in `directory`: those whose writer (same host) is
    no longer running, and any older than max_age_s. A live writer's temp file is kept."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    now = time.time()
    for e in entries:
        if not (e.name.startswith(".") and e.name.endswith(".tmp")) or not e.is_file(follow_symlinks=False):
            continue
        m = _TMP.fullmatch(e.name)
        try:
            old = now - e.stat(follow_symlinks=False).st_mtime > max_age_s
        except OSError:
            continue
        stale = old
        if m and m["host"] == _HOST and not old:
            pid = int(m["pid"])
            stale = pid != os.getpid() and not _alive(pid)
        if stale:
            try:
                os.unlink(e.path)
                removed.append(Path(e.path))
            except OSError:
                pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def check_inside(root: Path, path: Path) -> None:
    """Refuse to write `path` if a directory between `root` and it is a symbolic link (a planted link would send
    the file outside root). The root itself may be a link."""
    root = Path(root)
    rel = Path(path).relative_to(root)
    cur = root
    for part in rel.parts[:-1]:
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            return  # created by us below, as a real directory
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            raise RecordError(f"{cur} is {'a symbolic link' if stat.S_ISLNK(st.st_mode) else 'not a directory'}: "
                              f"refusing to write a record through it (it could point outside {root})", path=str(path))
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise RecordError(f"{path} exists and is {_kind(st.st_mode)}: refusing to replace it", path=str(path))
    except FileNotFoundError:
        pass


def stage_text(path: Path, text: str | bytes) -> Path:
    """Write `text` to a temp file next to `path` (fsynced, mode 0666 & ~umask) and return the temp file's path;
    `commit_staged` renames it into place. Two steps, so that a batch can stage everything before changing anything."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_tmp(path.parent)
    prefix = f".{path.name}.{_HOST}.{os.getpid()}."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8") if isinstance(text, str) else text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return Path(tmp)


def commit_staged(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)
    try:
        dfd = os.open(Path(path).parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - some filesystems refuse directory fsync
        pass


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same directory + fsync + rename: readers see the old or the new file, never half.
    The file gets mode 0666 & ~umask (like any file the user creates), and stale temp files are cleaned first."""
    tmp = stage_text(path, text)
    try:
        commit_staged(tmp, path)
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
    check_inside(Path(results_dir), path)
    text = dump_record(body)
    if len(text.encode("utf-8")) > MAX_RECORD_BYTES:
        raise RecordError(f"the record would be {len(text.encode('utf-8'))} bytes, more than a record may be "
                          f"({MAX_RECORD_BYTES}): keep artifacts small (curves subsampled, no raw outputs)",
                          path=str(path), field="artifacts")
    atomic_write_text(path, text)
    return path


# -- scanning ---------------------------------------------------------------------------------------------------------
VERIFIED_FILE = "VERIFIED.json"  # verification outcomes written by `dcai-bench verify` (bench/verify.py)


def walk_results(results_dir: Path) -> tuple[list[Path], list[RecordError]]:
    """Candidate record files under results_dir, without following symlinks, and the entries refused on sight:
    symlinks, FIFOs, devices, sockets, and *.json files outside the <task>/v<version>/<method>/ layout are returned
    as candidates (their checks name the problem). Hidden entries (temp files, .git) are skipped."""
    root = Path(results_dir)
    files: list[Path] = []
    bad: list[RecordError] = []
    if not root.is_dir():
        return files, bad
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as e:
            bad.append(RecordError(f"cannot list: {e.strerror or e}", path=str(d)))
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            p = Path(e.path)
            if d == root and e.name == VERIFIED_FILE:
                continue
            if e.is_symlink():
                bad.append(RecordError("a symbolic link inside results/ (records are regular files; links are never "
                                       "followed)", path=str(p)))
            elif e.is_dir(follow_symlinks=False):
                stack.append(p)
            elif e.is_file(follow_symlinks=False):
                if e.name.endswith(".json"):
                    files.append(p)
            else:
                try:
                    mode = e.stat(follow_symlinks=False).st_mode
                except OSError:
                    mode = 0
                bad.append(RecordError(f"not a regular file ({_kind(mode)})", path=str(p)))
    return sorted(files), bad


def scan(results_dir: Path) -> tuple[list[tuple[Path, Record]], list[RecordError]]:
    """All records under results_dir (sorted by path) that are intact and stored at their own path, and the problems
    found (torn, invalid, misplaced, not regular files). Checks only what a record says about itself; the
    leaderboard, site, submit and verify use bench.validate.intake, which also checks records against the registry."""
    good: list[tuple[Path, Record]] = []
    root = Path(results_dir)
    files, bad = walk_results(root)
    for p in files:
        try:
            rec = read_record(p)
        except RecordError as e:
            bad.append(e)
            continue
        expected = root / record_relpath(rec)
        if p != expected:
            bad.append(RecordError(f"record stored at the wrong path (expected {expected.relative_to(root)})",
                                   path=str(p)))
            continue
        good.append((p, rec))
    return good, bad
