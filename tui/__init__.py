"""The front ends: the Textual TUI (`copilot.tui.app`), the prompt-toolkit REPL (`copilot.tui.repl`), and
what they share: the wording of events (`copilot.tui.render`) and slash commands (`copilot.tui.slash`).

Nothing here is imported by the engine (`copilot/` apart from `copilot.tui`); the engine imports no UI library.
"""
