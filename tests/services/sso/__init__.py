"""Tests of app/services/sso."""
