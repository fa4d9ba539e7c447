"""The words of plain_errors: for each error code, sentences (the first whose fields are all
known is used) and what to check. Fields come from the error's details plus a few made by
plain_errors: summary, got_words, available_words, where_words, path_words.

Codes are listed in workers/runtime/errors.py (CODES); tests check that each has a sentence.
"""

from __future__ import annotations

_TRY_AGAIN = "Try again; if it keeps happening, tell an admin (the technical detail helps)."
_RETURN = "End the function with `return state` (or return the changed state)."

SENTENCES: dict[str, tuple[str, ...]] = {
    # Reaching other systems
    "connection_refused": (
        "Could not reach {host}:{port}: nothing answered.",
        "Could not reach the other system: nothing answered.",
    ),
    "connection_timeout": (
        "Could not reach {host}:{port}: no answer within {seconds} s.",
        "Could not reach the other system: it did not answer in time.",
    ),
    "request_timeout": (
        "{host} did not answer {method} {url} within {seconds} s.",
        "The other system did not answer in time.",
    ),
    "dns_failed": (
        "Could not find the host “{host}”: no such name is known.",
        "Could not find the other system's host name.",
    ),
    "tls_failed": (
        "Could not set up a secure (https) connection to {host}.",
        "Could not set up a secure (https) connection.",
    ),
    "connection_failed": (
        "The connection to {host}:{port} failed or was cut off.",
        "The connection to the other system failed.",
    ),
    "egress_blocked": (
        "Ferry may not connect to {address} from this project ({reason}).",
        "Ferry may not connect to that address from this project.",
    ),
    "http_error": (
        "{host} answered {status} {reason} to {method} {url}.",
        "The other system answered with an error ({status}).",
    ),
    "http_bad_response": (
        "The answer to {method} {url} is not the data (JSON) that was expected.",
        "The other system's answer is not the data (JSON) that was expected.",
    ),
    "too_many_redirects": ("{method} {url} was sent on (redirected) too many times.",),
    "redirect_refused": (
        "{method} {url} sent Ferry on to another site; Ferry did not follow, to keep the "
        "credential safe.",
    ),
    "database_unreachable": (
        "Could not connect to the database at {host}:{port}.",
        "Could not connect to the database.",
    ),
    "database_error": (
        "The database refused the statement: {said}",
        "The database refused the statement.",
    ),
    # The data and the state
    "missing_key": (
        "{where_words} has no `{key}`. {available_words}",
        "The data has no `{key}`.",
    ),
    "missing_index": ("The list {path_words} has no item {index}: it has {size}.",),
    "not_an_object": (
        "{path_words} is {got_words}, so it has no `{key}`.",
        "A value was read as if it had fields, but it has none.",
    ),
    "wrong_type": (
        "The {operation} operation needs {expected}, but got {got_words}.",
        "An operation needs {expected}, but got {got_words}.",
        "The {operation} operation needs a list (or a JSONPath string) to go through.",
    ),
    "bad_argument": ("An operation was given something it cannot use: {summary}",),
    "validation_failed": (
        "The data does not match the schema ({count} problem(s)); the first: {first}",
        "The data does not match the schema.",
    ),
    "assertion_failed": ("A check in the job failed: {said}", "A check in the job failed."),
    "returned_none": (
        "The function in {operation} returned nothing instead of the state.",
        "A function in the job returned nothing instead of the state.",
    ),
    "returned_not_state": (
        "A function in the job returned {got_words} instead of the state.",
        "A function in the job returned something else than the state.",
    ),
    "state_not_json": ("The step's result holds a value that cannot be saved: {summary}",),
    "input_not_object": (
        "The step's input is not a JSON object (it is {got_words}).",
        "The step's input is not a JSON object.",
    ),
    "credential_missing_field": (
        "The {credential} credential has no “{field}”.",
        "The step's credential lacks a field it needs.",
    ),
    "credential_unavailable": ("The step's credential cannot be used: {summary}",),
    # The job code
    "syntax_error": (
        "The job code has a mistake on line {line}: {problem}.",
        "The job code has a mistake: {summary}",
    ),
    "code_not_allowed": ("The job code uses something Ferry jobs may not use: {summary}",),
    "compile_error": ("The job code could not be set up: {summary}",),
    "unknown_adaptor": (
        "The step uses an adaptor Ferry does not have ({adaptor}).",
        "The step's adaptor could not be loaded.",
    ),
    "import_blocked": ("The job code imports “{module}”, which Ferry jobs may not use.",),
    "sandbox_refused": ("The step tried something Ferry does not allow in a step: {summary}",),
    "job_error": ("The step's code stopped with an error: {summary}",),
    "job_exit": ("The job code tried to stop its own process, which jobs may not do.",),
    # Limits and the sandbox
    "time_limit": (
        "The step took longer than {seconds} s and was stopped.",
        "The step took too long and was stopped.",
    ),
    "run_time_limit": (
        "The run took longer than its time limit of {seconds} s and was stopped.",
        "The run took longer than its time limit and was stopped.",
    ),
    "cpu_limit": (
        "The step used more than {seconds} s of computing time and was stopped.",
        "The step used too much computing time and was stopped.",
    ),
    "memory_limit": (
        "The step used more than {mb} MB of memory and was stopped.",
        "The step used too much memory and was stopped.",
    ),
    "output_limit": (
        "The step's result is too large to keep ({size}; the limit is {limit}).",
        "The step's result is too large to keep.",
    ),
    "log_limit": (
        "The step sent more than {limit} of logs and output and was stopped.",
        "The step sent too many logs and was stopped.",
    ),
    "process_died": (
        "The step's process stopped unexpectedly (signal {signal}).",
        "The step's process stopped unexpectedly.",
    ),
    "sandbox_failed": ("Ferry could not run the step: its sandbox failed.",),
    "runtime_error": ("Ferry's runtime failed while running the step.",),
    # The run as a whole
    "input_unavailable": ("The run's input could not be read.",),
    "worker_stopped": ("The worker running this run was stopped before the run finished.",),
    "run_lost": ("The worker running this run stopped reporting, so the run was given up.",),
    "ferry_error": ("Ferry itself failed while running this run.",),
}

CHECKS: dict[str, tuple[str, ...]] = {
    "connection_refused": (
        "Is the system at {host}:{port} running, and are the address and port right?",
    ),
    "connection_timeout": (
        "Is the other system up, and can Ferry's network reach it (firewall, VPN)?",
    ),
    "request_timeout": (
        "The other system may be slow or overloaded: try again later, or allow a longer "
        "timeout in the step.",
    ),
    "dns_failed": ("Check the spelling of the address in the step or its credential.",),
    "tls_failed": (
        "Check that the address is right; the other system's certificate may have expired "
        "or not be trusted.",
    ),
    "connection_failed": ("Is the other system working? " + _TRY_AGAIN,),
    "egress_blocked": (
        "If this is one of your own systems, ask an admin to add {address} to the project's "
        "allowed addresses (egress allowlist).",
        "If this is one of your own systems, ask an admin to add it to the project's allowed "
        "addresses (egress allowlist).",
    ),
    "http_error:5xx": (
        "The other system had a problem of its own: look at its logs, or try again later.",
    ),
    "http_error:401": ("Check the step's credential (user name, password or token).",),
    "http_error:403": ("Check that the step's credential has the rights this request needs.",),
    "http_error:404": ("Check the address (path) the step sends to, and the ids in it.",),
    "http_error": (
        "The other system refused the request; its answer: {answer}",
        "Compare what the step sent with what the other system expects.",
    ),
    "http_bad_response": (
        "Is the address right? A web page or an error page may have come back instead of data.",
    ),
    "too_many_redirects": ("Check the address: it may lead to a login page or the wrong place.",),
    "redirect_refused": ("Use the final address in the step, or in its credential's base URL.",),
    "database_unreachable": (
        "Is the database running, and are the host, port, user and password in the "
        "credential right?",
    ),
    "database_error": ("Check the statement and the data sent (columns, types, constraints).",),
    "missing_key": (
        "Check the field name (spelling, upper and lower case) and what the webhook or the "
        "previous step really sent (the step's Input tab).",
    ),
    "missing_index": ("The list may be shorter than expected, or empty.",),
    "not_an_object": (
        "To work on every item of a list, use “repeat for each” (each); or pick one item.",
    ),
    "wrong_type": (
        "Check the path the {operation} operation reads (for example data.records) and that "
        "the input has {expected} there.",
        "Check what the operation is given.",
    ),
    "bad_argument": ("Check the step's settings (or its code) at the line the detail names.",),
    "validation_failed": ("Fix the data (or the schema) where it says.",),
    "assertion_failed": ("Look at the data the step received (its Input tab).",),
    "returned_none": (_RETURN,),
    "returned_not_state": (_RETURN,),
    "state_not_json": ("Keep only text, numbers, true/false, lists and objects in the state.",),
    "input_not_object": ('Start the run with an input such as {{"data": {{}}}}.',),
    "credential_missing_field": (
        "Open the {credential} credential and fill in “{field}”.",
        "Open the step's credential and fill in what is missing.",
    ),
    "credential_unavailable": (
        "Open the credential: it may have been deleted, unshared from this project, or need "
        "signing in again.",
    ),
    "syntax_error": (
        "Check that brackets, quotes and colons are closed and that indentation is consistent.",
    ),
    "code_not_allowed": ("Rewrite that line with the step's operations.",),
    "compile_error": ("Look at the line the technical detail names.",),
    "unknown_adaptor": ("Choose the step's adaptor again in the workflow builder.",),
    "import_blocked": (
        "Use the step's operations, or one of the modules the technical detail lists.",
    ),
    "sandbox_refused": ("Steps may only reach other systems through their operations.",),
    "job_error": ("Look at the line the technical detail names and at the step's input.",),
    "job_exit": ("Remove the exit() call; to fail on purpose, use assert_.",),
    "time_limit": (
        "Make the step do less per run (smaller batches), or ask an admin about the time limit.",
    ),
    "run_time_limit": (
        "Make the steps do less per run (smaller batches), or ask a project admin to raise "
        "the run time limit in the project's Settings, under Run limits (at most {maximum} s "
        "on this server).",
        "Make the steps do less per run (smaller batches), or ask a project admin to raise "
        "the run time limit in the project's Settings, under Run limits.",
    ),
    "cpu_limit": ("Make the step do less per run (smaller batches).",),
    "memory_limit": (
        "Work on smaller batches of records, or keep less data in the state; a project admin "
        "can raise the memory per step in the project's Settings, under Run limits.",
    ),
    "output_limit": ("Keep less data in the state (drop what later steps do not need).",),
    "log_limit": ("Log less (not every record), or log only what goes wrong.",),
    "process_died": ("The machine may be short of memory. " + _TRY_AGAIN,),
    "sandbox_failed": (_TRY_AGAIN,),
    "runtime_error": (_TRY_AGAIN,),
    "input_unavailable": (
        "The input may have been removed by the project's retention policy; start the run "
        "with another input.",
    ),
    "worker_stopped": ("Retry the run.",),
    "run_lost": ("Retry the run; tell an admin if this happens often.",),
    "ferry_error": ("Retry the run. " + _TRY_AGAIN,),
}
