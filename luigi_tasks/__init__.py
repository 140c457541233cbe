"""Luigi tasks wrapping the delphi_signals library: ``luigi --module luigi_tasks Export --source jhu-csse --date D``.

Tasks hold no domain logic: each calls one library function and writes its target last.
"""

from .config import DelphiSignals, JhuCsseConfig, SourceConfig
from .indicator import Export, Pull
from .nightly import CoverageLatency, MetaCache, Nightly, NightlyConfig, Staleness

__all__ = ["CoverageLatency", "DelphiSignals", "Export", "JhuCsseConfig", "MetaCache", "Nightly", "NightlyConfig",
           "Pull", "SourceConfig", "Staleness"]
