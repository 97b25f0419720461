"""Where the repository is, for tests that read its files (docs, config, data): test modules
sit at different depths under tests/, so none computes it from its own path."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
