"""Workflows: the workflow document (parse and validate) and storing, replacing and exporting
workflows.
"""
