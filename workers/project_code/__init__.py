"""The client side of projects as code: `ferry pull`, `ferry diff` and `ferry deploy` talk to a
Ferry server's provisioning API over HTTP, as a developer's laptop or a CI job would.

`config` finds the endpoint and token, `client` calls the API and turns every refusal into a
`Failure` with an exit code, `directory` owns the files (project.yaml, job files, the state
file), `plan` works out what a deploy would send and change, `report` prints changes and
problems. The commands themselves are in workers/cli_code.py.
"""
