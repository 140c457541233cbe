"""NCHS provisional death counts (source ``nchs-mortality``): the weekly state table → 13 weekly signals at state
and nation (six counts and per 100,000, and ``deaths_percent_of_expected``), exported with ``weekly_YYYYWW_``
file names. The nation is the table's own ``United States`` rows."""
