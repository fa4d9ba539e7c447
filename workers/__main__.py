"""`python -m workers ...` is the same as the `ferry` command."""

from workers.cli import main

main()
