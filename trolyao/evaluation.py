"""Old path of `trolyao.staff.evaluation`, kept for bench/answer_budget_cv.py.

The same module object (not a copy), so its state is shared. New code imports `trolyao.staff.evaluation`.
"""
import sys

from trolyao.staff import evaluation as _module

sys.modules[__name__] = _module
