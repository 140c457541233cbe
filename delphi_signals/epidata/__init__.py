"""The epidata database: schema, insert path and versioned queries (issue, lag, as_of)."""

from .query import Epidata

__all__ = ["Epidata"]
