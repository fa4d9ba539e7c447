"""Telling people about their projects: failure alerts, digests, change notices, and the
signed links in those mails that change someone's choices without signing in."""
