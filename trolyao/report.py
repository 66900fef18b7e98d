"""Old path of `trolyao.staff.report`, kept for bench/report_speed.py and webhook/blueprints/admin_charts.py.

The same module object (not a copy), so its state is shared. New code imports `trolyao.staff.report`.
"""
import sys

from trolyao.staff import report as _module

sys.modules[__name__] = _module
