"""A project's egress allowlist: which entries are accepted and how they are tidied
(allowlist), and the builder's warnings about addresses a step would be refused (warnings).

The rules both apply (the refused ranges, what an entry opens) are those of app/egress_rules.py,
the pure module the runtime (workers/runtime/egress.py) enforces at connect time, so the page
and the sandbox cannot disagree; app still never imports workers.
"""
