"""Interviews: the REST resource and the live engine that runs them."""
