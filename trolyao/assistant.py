"""Old path of `trolyao.core.assistant`, kept for bench/report_speed.py.

The same module object (not a copy), so its state is shared. New code imports `trolyao.core.assistant`.
"""
import sys

from trolyao.core import assistant as _module

sys.modules[__name__] = _module
