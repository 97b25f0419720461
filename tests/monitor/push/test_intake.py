"""The intake's batching: what gathers while a batch is busy goes together next, and each
caller gets its own result or its own failure."""

from __future__ import annotations

import asyncio

import pytest

from monitor.push.intake import Batcher


def test_what_arrives_while_a_batch_runs_goes_as_the_next_batch() -> None:
    sizes: list[list[int]] = []
    started, gate = asyncio.Event(), asyncio.Event()

    async def work(items: list[int]) -> list[int | Exception]:
        sizes.append(items)
        started.set()
        await gate.wait()  # the first batch is busy while the others arrive
        return [item * 10 for item in items]

    async def go() -> list[int]:
        batcher: Batcher[int, int] = Batcher(work)
        calls = [asyncio.create_task(batcher(0))]
        await started.wait()
        calls += [asyncio.create_task(batcher(n)) for n in range(1, 6)]
        gate.set()
        return list(await asyncio.gather(*calls))

    assert asyncio.run(go()) == [0, 10, 20, 30, 40, 50]
    assert sizes == [[0], [1, 2, 3, 4, 5]]


def test_each_caller_gets_its_own_failure_and_a_raised_one_reaches_all() -> None:
    """Calls one after another: each finds the previous batch's runner gone (a runner
    still counted as running while it ends would leave the next caller waiting)."""

    async def work(items: list[int]) -> list[int | Exception]:
        if 99 in items:
            raise RuntimeError("the whole batch failed")
        return [ValueError(f"bad {i}") if i % 2 else i for i in items]

    async def go() -> None:
        batcher: Batcher[int, int] = Batcher(work, most=2)
        assert await batcher(2) == 2
        with pytest.raises(ValueError, match="bad 3"):
            await batcher(3)
        with pytest.raises(RuntimeError, match="whole batch"):
            await batcher(99)

    asyncio.run(go())
