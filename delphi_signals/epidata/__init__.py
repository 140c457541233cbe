"""The epidata database: schema, insert path, versioned queries (issue, lag, as_of) and physical deletion."""

from .delete import delete_batch
from .query import Epidata

__all__ = ["Epidata", "delete_batch"]
