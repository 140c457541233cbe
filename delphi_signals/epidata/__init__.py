"""The epidata database: schema, insert path and versioned queries (issue, lag, as_of)."""
