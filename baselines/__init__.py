"""Method implementations, one file per method, one sub-package per task family."""
