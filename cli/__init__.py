"""The `powerdesk` command line (Typer): one module per command group, `main` assembles them."""
