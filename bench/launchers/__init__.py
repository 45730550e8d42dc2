"""Scripts the benchmarks run as child processes (run by path, so start-up is measured honestly)."""
