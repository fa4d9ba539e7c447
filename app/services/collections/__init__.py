"""Collections: a project's named key-value stores of JSON values, kept between runs.

`rules` (names, keys, patterns, values, limits, cursors), `store` (the collections
themselves), `items` (get, list by pattern, set, set a batch, remove) and `step_tokens`
(how a running job's sandbox reaches the collections API without a database).
"""
