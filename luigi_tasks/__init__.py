"""Luigi tasks wrapping the delphi_signals library: ``luigi --module luigi_tasks Export --source jhu-csse --date D``.

Tasks hold no domain logic: each calls one library function and writes its target last.
"""

from .config import DelphiSignals, JhuCsseConfig, SourceConfig
from .diff import Deliver, Diff, delivery_chain
from .indicator import Export, Pull

__all__ = ["DelphiSignals", "Deliver", "Diff", "Export", "JhuCsseConfig", "Pull", "SourceConfig", "delivery_chain"]
