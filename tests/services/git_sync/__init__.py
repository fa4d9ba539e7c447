"""Tests of git sync (app/services/git_sync), against local bare repositories."""
