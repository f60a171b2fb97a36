"""Tests against a hostile server: every blocking call ends by its deadline (deadlines.py)."""
