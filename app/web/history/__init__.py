"""History: the work order list with filters, search, live updates and bulk actions, and
the run page."""
