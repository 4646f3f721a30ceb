"""Helpers shared by the tests: scenes, plans, real extracts and the headless browser."""
