"""Subcommands of `copilot`. Each module here has a docstring, `register(subparsers)` and
functions it sets as `func` defaults; it imports heavy libraries only inside functions,
so `copilot --help` stays fast."""
