"""History: the project's work orders listed, filtered, searched and bulk-acted on; run pages; the
dashboard; live hints.
"""
