"""The operator console: a web page served by the engine itself (no internet needed).

``start_console`` is the one call the runtime makes; see ``fence.console.live``.
"""

from fence.console.config import ConsoleConfig, ConsoleConfigError
from fence.console.live import start_console
from fence.console.server import ConsoleServer

__all__ = ["ConsoleConfig", "ConsoleConfigError", "ConsoleServer", "start_console"]
