"""Load benchmark: the engine's gateway (1 or 2 processes) against the bare Redis relay baseline."""
