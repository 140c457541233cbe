"""NCHS provisional death counts (source ``nchs-mortality``): the weekly state table → weekly state and
nation signals (counts and per 100,000), exported with ``weekly_YYYYWW_`` file names."""
