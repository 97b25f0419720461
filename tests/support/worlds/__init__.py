"""A running piece of Stormwatch set up for a test, and the means to drive and watch it."""
