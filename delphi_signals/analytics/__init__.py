"""Nightly analytics over the epidata database: metadata cache, staleness complaints, coverage and latency,
revision profiles."""
