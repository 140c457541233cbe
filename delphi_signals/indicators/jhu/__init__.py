"""JHU CSSE cases and deaths (source ``jhu-csse``): county time series → 12 signals at 6 geo levels."""
