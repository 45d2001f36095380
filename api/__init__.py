"""Where the outside world comes in: the FastAPI app (channels, widget, health) and the CLI."""
