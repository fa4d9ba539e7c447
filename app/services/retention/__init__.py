"""Data retention: how long a project keeps its history and its dataclip bodies (`policy`),
and the background purge that applies it in small batches (`purge`).

A wiped dataclip keeps its row (ids, type, size-free metadata, `wiped_at`), so the pages and
the refusals can say when and why its body went; history older than the history limit goes
entirely (work orders with their runs, steps and log lines). Audit entries are not history:
they stay.
"""
