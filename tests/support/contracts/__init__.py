"""Checks every implementation of a seam passes, written once and run for each of them."""
