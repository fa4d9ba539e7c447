"""Zero persistence, per project: input, step and output bodies never reach the database or
the logs; only metadata, states and exit reasons do.

What it owns:
- `settings`: turning it on (only with the consequences acknowledged) and off, audited.
- `transient`: the one place a body of such a project lives, in Redis with a time to live,
  while a run needs it (a webhook's or typed input, the states of steps waiting for an
  automatic retry, a synchronous webhook's reply).
- the sentences every refusal and every "not stored" notice uses, below.

How it works, end to end:
- A webhook request (or a typed manual input) becomes a dataclip row holding only its type,
  content type, size, method and path (no headers, no query values, no body) with
  `not_stored` true; the body, with its headers and query, goes to Redis for 24 hours.
  Redis unreachable: the request is refused with a 503 (nothing saved), since no other place
  may hold its body.
- The worker reads the body from Redis with the run's claim; gone (Redis restarted, 24 hours
  passed) the run ends with a plain message, never a crash. The body is deleted when the run
  ends.
- Step outputs are dataclip rows without a body (`not_stored`); log output is dropped as with
  `discard_logs`. A synchronous webhook still gets its answer: the final state's reply goes
  through Redis for ten minutes. A cron trigger taking the last successful run's output
  starts from {} instead.
- What needs a stored body is refused: a retry or rerun from a step, saving an input in the
  builder, running with a saved or earlier input, searching in inputs.
- It applies to runs that start after it is turned on; bodies stored before stay until the
  retention policy wipes them.
"""

NOT_STORED = "Not stored: this project keeps no inputs or outputs (zero persistence)."
INPUT_LOST = (
    "The run's input was not stored, because this project keeps no inputs or outputs (zero "
    "persistence), and it was lost before the run could start (it is held for 24 hours, and "
    "only while Ferry's Redis keeps running). Send it again to run it."
)
NO_STEP_RETRY = (
    "This project keeps no inputs or outputs (zero persistence), so there is no stored input "
    "to run a step again with. Start the workflow again with a new input instead."
)
NO_RETRY = (
    "This input was not stored, because the project keeps no inputs or outputs (zero "
    "persistence), so the run cannot be retried from it."
)
NO_SAVED_INPUTS = (
    "This project keeps no inputs or outputs (zero persistence), so inputs cannot be saved or "
    "reused: type the input to run with instead."
)
NO_SEARCH = "Searching in inputs is off: this project keeps no inputs (zero persistence)."
REDIS_DOWN = (
    "This project keeps no inputs in the database (zero persistence), and the place that "
    "holds them until their run starts is not reachable; nothing was saved. Send the request "
    "again shortly."
)
NO_REPLY = (
    "The run succeeded, but its result was not kept for this reply: the project keeps no "
    "outputs (zero persistence) and it was no longer held."
)
