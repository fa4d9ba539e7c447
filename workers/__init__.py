"""The execution side: CLI entry points, RQ worker, scheduler, and (later) the run executor."""
