"""kcs-kit: an open inspection-notebook platform for customs enforcement of intellectual-property rights.

Importing kcs_kit loads no heavy library; modules import what they need.
"""

from kcs_kit.config import Settings, load_settings
from kcs_kit.errors import KcsError

__all__ = ["KcsError", "Settings", "load_settings", "__version__"]
__version__ = "0.1.0"
