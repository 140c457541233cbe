"""Luigi tasks wrapping the delphi_signals library: ``luigi --module luigi_tasks Export --source jhu-csse --date D``.

Tasks hold no domain logic: each calls one library function and writes its target last.
"""

from .config import DelphiSignals, SourceConfig
from .diff import Deliver, Diff, delivery_chain
from .epidata import Delivered, EpidataMarker, Import
from .indicator import Export, Pull
from .pipeline import Daily, PipelineConfig, Publish
from .nightly import CoverageLatency, MetaCache, Nightly, NightlyConfig, Staleness
from .validate import Validate

__all__ = ["CoverageLatency", "Daily", "DelphiSignals", "Deliver", "Delivered", "Diff", "EpidataMarker", "Export", "Import",
           "MetaCache", "Nightly", "NightlyConfig", "PipelineConfig", "Publish", "Pull", "SourceConfig", "Staleness", "Validate", "delivery_chain"]
