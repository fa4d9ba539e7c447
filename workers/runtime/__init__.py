"""The execution core: job-expression compiler, operations, sandbox, log scrubbing.

Pure Python with no Flask and no database, so the worker and `ferry execute` share it.

How the parts fit:
- `protocol.StepRequest` / `protocol.StepResult`: what a caller hands the sandbox and gets back.
- `sandbox.Sandbox.run(request)`: runs one step in a forked, locked-down child process.
- inside the child, `job.run_job(source, adaptor, state)` compiles the body (`compiler`; the
  server keeps bodies that ran successfully compiled, `compiled_jobs`) and applies its
  operations in order; `logs.emit` records log lines.
"""
