"""Workflows: the workflow document and its one validator (`documents`, reading the sections
in `sections` and checking the graph in `graph`, into the shapes of `shapes`), and storing,
replacing and exporting workflows (`store`).
"""
