"""`copilot completion bash|zsh|fish`: the shell completion script (argcomplete).

    eval "$(copilot completion bash)"            # in ~/.bashrc
    eval "$(copilot completion zsh)"             # in ~/.zshrc
    copilot completion fish > ~/.config/fish/completions/copilot.fish
"""

from __future__ import annotations

SHELLS = ("bash", "zsh", "fish")


def register(sub) -> None:
    p = sub.add_parser("completion", help="print the shell completion script (bash, zsh or fish)")
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(func=_completion)


def _completion(args) -> int:
    import argcomplete

    print(argcomplete.shellcode(["copilot"], shell=args.shell))
    return 0
