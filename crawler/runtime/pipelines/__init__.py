"""Item pipelines: extraction in the process pool, then storage in one writer thread."""
