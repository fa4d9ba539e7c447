"""Triggers: how work arrives: webhook intake and its authentication, synchronous replies, cron
ticks.
"""
