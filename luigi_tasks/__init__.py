"""Luigi tasks wrapping the delphi_signals library: ``luigi --module luigi_tasks Export --source jhu-csse --date D``.

Tasks hold no domain logic: each calls one library function and writes its target last.

Luigi runs tasks in forked worker processes when ``--workers`` > 1. Numba's OpenMP and TBB thread pools are
not fork-safe (a child forked after the pool started is killed with SIGTERM), so the Luigi layer selects
numba's fork-safe ``workqueue`` threading layer unless ``NUMBA_THREADING_LAYER`` says otherwise.
"""

import os

os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

import numba  # noqa: E402

numba.config.THREADING_LAYER = os.environ["NUMBA_THREADING_LAYER"]  # also when numba was imported first

from .config import DelphiSignals, SourceConfig
from .diff import Deliver, Diff, delivery_chain
from .epidata import Delivered, EpidataMarker, Import, ImportedIssue
from .indicator import Export, Pull
from .pipeline import Daily, PipelineConfig, Publish
from .nightly import CoverageLatency, MetaCache, Nightly, NightlyConfig, RevisionProfiles, Staleness
from .validate import Validate

__all__ = ["CoverageLatency", "Daily", "DelphiSignals", "Deliver", "Delivered", "Diff", "EpidataMarker", "Export",
           "Import", "ImportedIssue", "MetaCache", "Nightly", "NightlyConfig", "PipelineConfig", "Publish", "Pull", "RevisionProfiles",
           "SourceConfig", "Staleness", "Validate", "delivery_chain"]
