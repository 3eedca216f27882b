"""Error types of the harness. Every message names the offending field, file or name."""


class BenchError(Exception):
    """Base class for user-facing errors (the CLI prints these without a traceback)."""


class RegistryError(BenchError):
    pass


class ConfigError(BenchError):
    pass


class RecordError(BenchError):
    """A result record is malformed, torn, or inconsistent. `path` and `field` say where."""

    def __init__(self, message: str, path: str | None = None, field: str | None = None):
        self.path, self.field = path, field
        where = " ".join(x for x in (f"file {path}" if path else "", f"field '{field}'" if field else "") if x)
        super().__init__(f"{where}: {message}" if where else message)


class DataUnavailable(BenchError):
    """A dataset (or model) cannot be loaded here, e.g. a hub id without network. Says what to do instead."""
