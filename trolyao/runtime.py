"""Old path of `trolyao.core.runtime`, kept for bench/.

The same module object (not a copy), so its state is shared. New code imports `trolyao.core.runtime`.
"""
import sys

from trolyao.core import runtime as _module

sys.modules[__name__] = _module
