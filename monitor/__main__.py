"""``python -m monitor`` is the ``stormwatch`` command."""

from monitor.cli import main

main()
