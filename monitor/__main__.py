"""``python -m monitor`` and the ``stormwatch`` command.

Why this file is the entry point and imports the CLI inside :func:`main`: the crawl's parse
workers are spawned processes (:mod:`monitor.stages.read`), and a spawned process re-imports the
script that started its parent. The ``stormwatch`` script imports this module, so keeping
it light keeps the whole CLI (typer, the database and alert stacks) out of every worker;
the ``__main__`` guard keeps a worker from running the CLI again.
"""

from __future__ import annotations


def main() -> None:
    from monitor.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
