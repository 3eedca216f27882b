"""Task definitions, one sub-package per task family. Discovery imports every module here."""
