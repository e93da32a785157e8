"""The front ends: the Textual TUI (`tui.app`), the prompt-toolkit REPL (`tui.repl`), and
what they share: the wording of events (`tui.render`) and slash commands (`tui.slash`).

Nothing here is imported by the engine (`copilot/`); the engine imports no UI library.
"""
