"""Built-in tools, each confined by an allow-list with safe defaults: :func:`http_fetch`
(hosts), :func:`calculator` (arithmetic only, no ``eval``) and :func:`read_file` (one folder)."""

from beluga.tools.builtins.arithmetic import calculator
from beluga.tools.builtins.fetch import http_fetch
from beluga.tools.builtins.files import read_file

__all__ = ["calculator", "http_fetch", "read_file"]
