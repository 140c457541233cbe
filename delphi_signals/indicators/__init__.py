"""Indicators: one package per source, each with upstream's layout.

``run.py`` ``run_module(params)``, ``pull.py`` ``pull_data()``, ``geo.py`` ``geo_map()``, ``constants.py``,
``data_tools.py``. ``params`` is the upstream ``params.json`` dict (``common``, ``indicator`` …).
"""
