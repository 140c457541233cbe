"""Luigi tasks wrapping the delphi_signals library: ``luigi --module luigi_tasks Export --source jhu-csse --date D``.

Tasks hold no domain logic: each calls one library function and writes its target last.
"""

from .config import DelphiSignals, JhuCsseConfig, SourceConfig
from .epidata import Delivered, EpidataMarker, Import
from .indicator import Export, Pull

__all__ = ["DelphiSignals", "Delivered", "EpidataMarker", "Export", "Import", "JhuCsseConfig", "Pull",
           "SourceConfig"]
