"""Helpers of ``tools/build_destinations.py``: data tables, text, fact builders, YAML output.

``tables`` loads and checks the curated tables in ``data/destinations/``; ``text`` holds the
date and note helpers; ``facts`` turns reference rows and curated rows into factors;
``render`` writes the YAML.
"""
