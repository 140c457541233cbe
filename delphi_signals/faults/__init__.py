"""The fault record: known data faults with their exact scope, shared by notebooks, the pipeline, the API and a
browser page.

* :mod:`.record` — the tables' API: :func:`add_fault`, :func:`list_faults`, :func:`get_fault`,
  :func:`update_fault` (``Epidata.add_fault`` and friends are thin shims over these);
* :mod:`.cover` — which faults cover which cells (``Epidata.fetch(..., faults=True)``);
* :mod:`.propose` — faults proposed by the validator and Sir Complains-a-lot;
* :mod:`.cli` — ``delphi-signals fault …``.
"""

from .record import (CATEGORIES, STATUSES, FaultNotFoundError, Scope, add_fault, check_scope, get_fault,
                     list_faults, update_fault)

__all__ = ["CATEGORIES", "STATUSES", "FaultNotFoundError", "Scope", "add_fault", "check_scope", "get_fault",
           "list_faults", "update_fault"]
