"""Runs: claiming, executing-side writes, lifecycle, queueing, events, reruns and the dataclips
they read.
"""
