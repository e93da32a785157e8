"""The built-in plugins (installed as `copilot.plugins`), and the plugin API.

`from copilot.plugins import Plugin, load_plugins` keeps working for plugin authors: the
names of copilot/plugin_manager.py are re-exported here lazily, so importing one built-in
plugin module does not load the plugin manager.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    from copilot import plugin_manager

    try:
        return getattr(plugin_manager, name)
    except AttributeError:
        raise AttributeError(f"module 'copilot.plugins' has no attribute {name!r}") from None
