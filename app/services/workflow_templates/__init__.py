"""Workflow templates: Ferry's own (files under app/workflow_templates/) and those a project
admin saved for the instance (rows of workflow_templates), offered on "Create workflow".

`catalog` lists and finds them, `use` creates a workflow (and its sample input) from one,
`saving` turns a workflow into a template and deletes saved ones.
"""
