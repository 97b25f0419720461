"""Posts, readings and incidents written into a database through the real code paths."""
