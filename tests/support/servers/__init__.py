"""Real servers on 127.0.0.1, each in a thread, stopped when the test ends."""
