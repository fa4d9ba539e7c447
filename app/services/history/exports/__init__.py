"""History exports: a project's work orders, runs, steps, logs and (optionally) dataclips for a
history filter, built by a background job into a zip of JSON Lines kept in the database.

`lifecycle` asks for exports, lists them, serves them and retires old ones (who may do what is
in its docstring); `build` is the job that fills one, batch by batch, from the JSON Lines
records `records` writes; `filters` keeps the filter as asked; `mail` tells the requester it
is ready.
"""
