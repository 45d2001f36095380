"""`python -m cli …` runs the `powerdesk` command line."""

from cli.main import main

main()
