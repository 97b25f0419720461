"""``stormwatch demo`` and what it plays on: a simulated day on a simulated local web.

Map of the package::

    run.py        the entry point: play the day against the real daemon, summarise, serve
    scenario/     the day itself: the story, its texts, the settings, mailbox, clock, report
    sampleweb/    the simulated web on 127.0.0.1 (standard library only), also used by tests

``run_demo`` and ``DemoFailed`` are imported from ``run.py`` when first asked for: the run
loads the whole daemon, and a test or ``python -m monitor.demo.sampleweb`` that wants only
the sample web should not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.demo.run import DemoFailed, run_demo

__all__ = ["DemoFailed", "run_demo"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from monitor.demo import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
