"""Jupyter UI of kcs-kit (ipywidgets): views over ``kcs_kit.match``, ``kcs_kit.explain`` and
``kcs_kit.analytics``. This package imports kcs_kit; kcs_kit never imports it.

Example (in a notebook)::

    from widgets import MatchWorkbench
    MatchWorkbench(settings)
"""

from widgets.cases import CaseQueue
from widgets.trends import TrendExplorer
from widgets.workbench import MatchWorkbench

__all__ = ["CaseQueue", "MatchWorkbench", "TrendExplorer"]
