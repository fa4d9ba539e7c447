"""The Studio (workflow builder): canvas saves and checks, the request builder and its read-back,
the run panel.
"""
