"""HHS hospital admissions (source ``hhs``): the Epidata ``covid_hosp`` state time series → 12 signals at
state, HHS region and nation (spec: indicators.md §8, "HHS hospitalizations")."""
