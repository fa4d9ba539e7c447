"""A project's egress allowlist: what its entries mean and which are accepted (allowlist), and
the builder's warnings about addresses a step would be refused (warnings).

The runtime (workers/runtime/egress.py) enforces the policy at connect time; app never imports
workers, so the few lines both need (the refused ranges, reading an entry) exist in both, and
tests/services/egress/test_allowlist.py checks that they read every entry the same way.
"""
