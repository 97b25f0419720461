"""A seeded scenario simulator for tests, tuning and the benchmark.

Traffic is an inhomogeneous Poisson process per 5-minute bucket: the Nordic rhythm (the
pooled prior, perturbed per brand so the baseline has something to learn), a day-to-day
level swing (lognormal, 15%), ``complaint_share`` (15%) of posts complaints, and some posts
gathered in ordinary threads with heavy-tailed comment counts. Classifier output is drawn
per post kind (complaints: complaint ~ Beta(6, 2); other posts ~ Beta(1, 15) with 3%
ambiguous ~ Beta(4, 4)), so false positives exist and launches leak a little.

Events on top of quiet traffic (each recorded as a :class:`Truth` with its onset, or with
``should_page=False``):

- ``storm``: extra complaints growing linearly to ``peak`` x the normal rate within ``ramp``,
  holding, then fading; ``slow_burn``: 1x -> 3x over three days;
- ``viral_thread``: a blog post with a trickle of comments whose comments take off
  (2/h -> 80/h in 30 minutes, three quarters angry);
- ``launch``: 10x mention volume of happy posts for six hours (complaints not);
- ``competitor_storm``: a 10x storm for the rival brand, and 3x passing mentions of ours
  with low complaint probability;
- ``outage_news``: a burst of neutral news posts about an outage.

Tiers: low (20 mentions/day: 3 complaints/day), medium (300/day), high (3000/day).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from monitor.detect.baseline import PRIOR_SHAPE, slot_of_hour
from monitor.detect.events import PostEvent
from monitor.detect.history import BUCKET_SECONDS, HOUR_SECONDS
from monitor.detect.windows import ExpectedSpike

TIERS: dict[str, float] = {"low": 20.0, "medium": 300.0, "high": 3000.0}
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
TZ = "Europe/Stockholm"
SOURCES = (
    "forum:flashback.org",
    "forum:sol.no",
    "forum:kaksplus.fi",
    "blog:wordpress",
    "reddit:r/Denmark",
    "reddit:r/sweden",
    "review:trustpilot",
    "news:dr.dk",
)
LANGS = ("sv", "da", "nb", "fi", "en")
LANG_WEIGHTS = (0.35, 0.25, 0.2, 0.1, 0.1)
# post kind -> (complaint Beta, ambiguous share, negative Beta)
KINDS: dict[str, tuple[tuple[float, float], float, tuple[float, float]]] = {
    "complaint": ((6, 2), 0.0, (6, 2)),
    "other": ((1, 15), 0.03, (2, 5)),
    "positive": ((1, 25), 0.02, (1, 8)),
    "passing": ((1, 12), 0.03, (3, 4)),
    "news": ((1.5, 12), 0.0, (5, 3)),
}


@dataclass(frozen=True)
class Traffic:
    brand: str
    mentions_per_day: float
    complaint_share: float = 0.15
    daily_noise: float = 0.15
    threads_per_mention: float = 0.02


@dataclass(frozen=True)
class Truth:
    brand: str
    kind: str
    onset: datetime
    end: datetime
    should_page: bool


@dataclass
class Scenario:
    name: str
    seed: int
    start: datetime
    end: datetime
    events: list[PostEvent] = field(default_factory=list)
    truths: list[Truth] = field(default_factory=list)
    spikes: list[ExpectedSpike] = field(default_factory=list)
    live_from: datetime | None = None  # evaluation starts here (after the warm-up)

    def onsets(self) -> dict[str, datetime | None]:
        """Per brand, the first onset that should page (None: nothing should page)."""
        brands = {e.brand for e in self.events}
        out: dict[str, datetime | None] = dict.fromkeys(sorted(brands))
        for truth in sorted(self.truths, key=lambda t: t.onset):
            if truth.should_page and out.get(truth.brand) is None:
                out[truth.brand] = truth.onset
        return out


class Simulator:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self._next_id = 0
        self._shapes: dict[str, np.ndarray] = {}

    # -- rates ---------------------------------------------------------------------------
    def shape(self, brand: str) -> np.ndarray:
        """The brand's own weekly rhythm: the prior perturbed per hour of day."""
        if brand not in self._shapes:
            wobble = np.tile(self.rng.lognormal(0.0, 0.15, 24), 7)
            shape = PRIOR_SHAPE * wobble
            self._shapes[brand] = shape / shape.mean()
        return self._shapes[brand]

    def mention_rate(self, traffic: Traffic, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Bucket starts and expected mentions per 5-minute bucket over [t0, t1)."""
        starts = np.arange(t0 - t0 % BUCKET_SECONDS, t1, BUCKET_SECONDS)
        hours = (starts // HOUR_SECONDS).astype(int)
        slots = np.array([slot_of_hour(int(h), TZ) for h in hours])
        days = ((starts - starts[0]) // 86400).astype(int)
        noise = self.rng.lognormal(0.0, traffic.daily_noise, days.max() + 1)[days]
        per_bucket = traffic.mentions_per_day / 288 * self.shape(traffic.brand)[slots] * noise
        return starts, per_bucket

    def poisson_times(self, starts: np.ndarray, expected: np.ndarray) -> np.ndarray:
        counts = self.rng.poisson(np.maximum(expected, 0.0))
        base = np.repeat(starts, counts)
        return np.sort(base + self.rng.uniform(0, BUCKET_SECONDS, base.size))

    # -- posts ---------------------------------------------------------------------------
    def posts(
        self,
        brand: str,
        times: np.ndarray,
        kind: str | np.ndarray,
        thread_id: str | None = None,
        is_comment: bool = False,
        source: str | None = None,
    ) -> list[PostEvent]:
        n = times.size
        kinds = np.full(n, kind) if isinstance(kind, str) else kind
        complaint, negative = self._scores(kinds)
        sources = np.full(n, source) if source else self.rng.choice(SOURCES, n)
        langs = self.rng.choice(LANGS, n, p=LANG_WEIGHTS)
        out = []
        for i in range(n):
            self._next_id += 1
            out.append(
                PostEvent(
                    post_id=f"p{self._next_id}",
                    brand=brand,
                    at=datetime.fromtimestamp(float(times[i]), UTC),
                    complaint=float(complaint[i]),
                    negative=float(negative[i]),
                    thread_id=thread_id,
                    is_comment=is_comment,
                    source=str(sources[i]),
                    lang=str(langs[i]),
                    title=f"{kinds[i]} post about {brand}",
                    text_snippet=f"simulated {kinds[i]} post #{self._next_id} about {brand}",
                    url=f"https://example.test/{brand.lower()}/{self._next_id}",
                )
            )
        return out

    def _scores(self, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        complaint = np.empty(kinds.size)
        negative = np.empty(kinds.size)
        for name, ((ca, cb), ambiguous, (na, nb)) in KINDS.items():
            mask = kinds == name
            m = int(mask.sum())
            if not m:
                continue
            c = self.rng.beta(ca, cb, m)
            fuzzy = self.rng.random(m) < ambiguous
            c[fuzzy] = self.rng.beta(4, 4, int(fuzzy.sum()))
            complaint[mask] = c
            negative[mask] = self.rng.beta(na, nb, m)
        return complaint, negative

    # -- traffic -------------------------------------------------------------------------
    def quiet(self, traffic: Traffic, start: datetime, end: datetime) -> list[PostEvent]:
        starts, expected = self.mention_rate(traffic, start.timestamp(), end.timestamp())
        times = self.poisson_times(starts, expected)
        kinds = np.where(
            self.rng.random(times.size) < traffic.complaint_share, "complaint", "other"
        )
        return self.posts(traffic.brand, times, kinds) + self._threads(traffic, starts, expected)

    def _threads(
        self, traffic: Traffic, starts: np.ndarray, expected: np.ndarray
    ) -> list[PostEvent]:
        openers = self.poisson_times(starts, expected * traffic.threads_per_mention)
        out: list[PostEvent] = []
        for t0 in openers:
            self._next_id += 1
            thread = f"t{self._next_id}"
            out += self.posts(traffic.brand, np.array([t0]), "other", thread_id=thread)
            n = min(int(self.rng.pareto(1.3) * 3), 200)
            times = np.sort(t0 + self.rng.exponential(2 * HOUR_SECONDS, n))
            kinds = np.where(self.rng.random(n) < traffic.complaint_share, "complaint", "other")
            out += self.posts(traffic.brand, times, kinds, thread_id=thread, is_comment=True)
        return out

    def extra(
        self,
        traffic: Traffic,
        onset: datetime,
        hours: float,
        factor: Callable[[np.ndarray], np.ndarray],
        kind: str,
        share: float = 1.0,
    ) -> list[PostEvent]:
        """Posts at `factor(t since onset)` x the brand's normal mention rate (x `share`)."""
        t0 = onset.timestamp()
        starts, expected = self.mention_rate(traffic, t0, t0 + hours * HOUR_SECONDS)
        scale = factor(starts - t0) * share
        return self.posts(traffic.brand, self.poisson_times(starts, expected * scale), kind)


def _ramp(
    peak: float, ramp_h: float, hold_h: float, fade_h: float
) -> Callable[[np.ndarray], np.ndarray]:
    """Extra multiple over normal: 0 -> peak-1 over the ramp, hold, then fade to 0."""

    def factor(dt: np.ndarray) -> np.ndarray:
        h = dt / HOUR_SECONDS
        up = np.clip(h / max(ramp_h, 1e-9), 0, 1)
        down = np.clip(1 - (h - ramp_h - hold_h) / fade_h, 0, 1)
        return (peak - 1) * np.minimum(up, down)

    return factor


def _day_time(sim: Simulator, day: datetime, first_hour: int = 7, last_hour: int = 20) -> datetime:
    """A random waking-hours minute (local ~ UTC+1) on that day."""
    minute = int(sim.rng.integers(first_hour * 60, last_hour * 60))
    return day + timedelta(minutes=minute - 60)


# -- scenarios --------------------------------------------------------------------------
def _base(
    name: str, seed: int, tier: str, days: float, warmup_days: float
) -> tuple[Simulator, Traffic, Scenario]:
    sim = Simulator(seed)
    traffic = Traffic("Acme", TIERS[tier])
    end = START + timedelta(days=days)
    scenario = Scenario(f"{name}/{tier}", seed, START, end, sim.quiet(traffic, START, end))
    scenario.live_from = START + timedelta(days=warmup_days)
    return sim, traffic, scenario


def storm(
    seed: int,
    tier: str = "medium",
    peak: float = 10.0,
    ramp_hours: float = 2.0,
    warmup_days: int = 14,
) -> Scenario:
    """Quiet weeks, then a complaint storm growing to `peak` x within `ramp_hours`."""
    sim, traffic, sc = _base(
        f"storm{peak:g}x/{ramp_hours:g}h", seed, tier, warmup_days + 2, warmup_days
    )
    onset = _day_time(sim, START + timedelta(days=warmup_days))
    complaint_traffic = Traffic(traffic.brand, traffic.mentions_per_day * traffic.complaint_share)
    sc.events += sim.extra(
        complaint_traffic, onset, ramp_hours + 6, _ramp(peak, ramp_hours, 4, 2), "complaint"
    )
    sc.truths.append(Truth("Acme", "storm", onset, onset + timedelta(hours=ramp_hours + 6), True))
    return sc


def slow_burn(seed: int, tier: str = "medium", warmup_days: int = 14) -> Scenario:
    """Complaints creeping from 1x to 3x over three days, holding a day."""
    sim, traffic, sc = _base("slow_burn", seed, tier, warmup_days + 5, warmup_days)
    onset = START + timedelta(days=warmup_days, hours=6)
    complaint_traffic = Traffic(traffic.brand, traffic.mentions_per_day * traffic.complaint_share)
    sc.events += sim.extra(complaint_traffic, onset, 96 + 6, _ramp(3.0, 72, 24, 6), "complaint")
    sc.truths.append(Truth("Acme", "slow_burn", onset, onset + timedelta(hours=102), True))
    return sc


def viral_thread(seed: int, tier: str = "medium", warmup_days: int = 14) -> Scenario:
    """A blog post with a trickle of comments; an hour later its comments explode."""
    sim, _traffic, sc = _base("viral_thread", seed, tier, warmup_days + 2, warmup_days)
    posted = _day_time(sim, START + timedelta(days=warmup_days), 7, 18)
    takeoff = posted + timedelta(hours=1)
    sc.events += viral_posts(sim, "Acme", posted, takeoff)
    sc.truths.append(Truth("Acme", "viral_thread", takeoff, takeoff + timedelta(hours=3), True))
    return sc


def viral_posts(sim: Simulator, brand: str, posted: datetime, takeoff: datetime) -> list[PostEvent]:
    thread = f"viral-{sim.rng.integers(1_000_000)}"
    t0, t1 = posted.timestamp(), takeoff.timestamp()
    events = sim.posts(
        brand, np.array([t0]), "complaint", thread_id=thread, source="blog:wordpress"
    )
    trickle = np.sort(sim.rng.uniform(t0, t1, sim.rng.poisson(2)))
    events += sim.posts(brand, trickle, "other", thread, True, "blog:wordpress")
    starts = np.arange(t1, t1 + 3 * HOUR_SECONDS, BUCKET_SECONDS)
    per_hour = 2 + 78 * np.clip((starts - t1) / 1800, 0, 1)
    times = sim.poisson_times(starts, per_hour / 12)
    kinds = np.where(sim.rng.random(times.size) < 0.75, "complaint", "other")
    return events + sim.posts(brand, times, kinds, thread, True, "blog:wordpress")


def launch(
    seed: int, tier: str = "medium", annotated: bool = False, warmup_days: int = 14
) -> Scenario:
    """A happy product launch: 10x mention volume for six hours, complaints not."""
    sim, traffic, sc = _base(
        "launch" + ("+window" if annotated else ""), seed, tier, warmup_days + 2, warmup_days
    )
    at = _day_time(sim, START + timedelta(days=warmup_days), 8, 12)
    sc.events += launch_posts(sim, traffic, at)
    sc.truths.append(Truth("Acme", "launch", at, at + timedelta(hours=6), False))
    if annotated:
        sc.spikes.append(
            ExpectedSpike("Acme", at - timedelta(hours=1), at + timedelta(hours=8), "launch")
        )
    return sc


def launch_posts(sim: Simulator, traffic: Traffic, at: datetime) -> list[PostEvent]:
    return sim.extra(traffic, at, 6, _ramp(11, 0.5, 4.5, 1), "positive")


def competitor_storm(seed: int, tier: str = "medium", warmup_days: int = 14) -> Scenario:
    """A rival's 10x storm; our brand is mentioned in passing at 3x volume."""
    sim, traffic, sc = _base("competitor", seed, tier, warmup_days + 2, warmup_days)
    rival = Traffic("Rival", traffic.mentions_per_day)
    sc.events += sim.quiet(rival, START, sc.end)
    onset = _day_time(sim, START + timedelta(days=warmup_days))
    sc.events += competitor_posts(sim, traffic, rival, onset)
    sc.truths.append(Truth("Rival", "storm", onset, onset + timedelta(hours=8), True))
    sc.truths.append(Truth("Acme", "competitor", onset, onset + timedelta(hours=8), False))
    return sc


def competitor_posts(
    sim: Simulator, ours: Traffic, rival: Traffic, onset: datetime
) -> list[PostEvent]:
    rival_complaints = Traffic(rival.brand, rival.mentions_per_day * rival.complaint_share)
    events = sim.extra(rival_complaints, onset, 8, _ramp(10, 1, 5, 2), "complaint")
    return events + sim.extra(ours, onset, 8, _ramp(4, 1, 5, 2), "passing")


def outage_news(seed: int, tier: str = "medium", warmup_days: int = 14) -> Scenario:
    """A burst of neutral news posts about an outage (negative tone, not complaints)."""
    sim, traffic, sc = _base("outage_news", seed, tier, warmup_days + 2, warmup_days)
    at = _day_time(sim, START + timedelta(days=warmup_days))
    sc.events += news_posts(sim, traffic, at)
    sc.truths.append(Truth("Acme", "outage_news", at, at + timedelta(hours=3), False))
    return sc


def news_posts(sim: Simulator, traffic: Traffic, at: datetime) -> list[PostEvent]:
    count = max(20, int(traffic.mentions_per_day * 0.2))
    times = np.sort(at.timestamp() + sim.rng.exponential(HOUR_SECONDS, count))
    return sim.posts(traffic.brand, times, "news")


def month(seed: int, tier: str = "medium", warmup_days: int = 14) -> Scenario:
    """A month of normal traffic with two launches, two competitor storms, one outage burst."""
    sim, traffic, sc = _base("month", seed, tier, warmup_days + 30, warmup_days)
    rival = Traffic("Rival", traffic.mentions_per_day)
    sc.events += sim.quiet(rival, START, sc.end)
    first = START + timedelta(days=warmup_days)
    for day in (3, 17):
        at = _day_time(sim, first + timedelta(days=day), 8, 12)
        sc.events += launch_posts(sim, traffic, at)
        sc.truths.append(Truth("Acme", "launch", at, at + timedelta(hours=6), False))
    for day in (9, 24):
        at = _day_time(sim, first + timedelta(days=day))
        sc.events += competitor_posts(sim, traffic, rival, at)
        sc.truths.append(Truth("Rival", "storm", at, at + timedelta(hours=8), True))
        sc.truths.append(Truth("Acme", "competitor", at, at + timedelta(hours=8), False))
    at = _day_time(sim, first + timedelta(days=13))
    sc.events += news_posts(sim, traffic, at)
    sc.truths.append(Truth("Acme", "outage_news", at, at + timedelta(hours=3), False))
    return sc


SCENARIOS: dict[str, Callable[..., Scenario]] = {
    "storm": storm,
    "slow_burn": slow_burn,
    "viral_thread": viral_thread,
    "launch": launch,
    "competitor_storm": competitor_storm,
    "outage_news": outage_news,
    "month": month,
}


def make_events(
    brand: str,
    times: list[datetime],
    complaint: float = 0.9,
    negative: float | None = None,
    thread_id: str | None = None,
    is_comment: bool = False,
    source: str = "forum:example",
    prefix: str = "e",
) -> list[PostEvent]:
    """Hand-made posts at given times (for constructed test histories)."""
    return [
        PostEvent(
            post_id=f"{prefix}{n}-{int(at.timestamp())}",
            brand=brand,
            at=at,
            complaint=complaint,
            negative=complaint if negative is None else negative,
            thread_id=thread_id,
            is_comment=is_comment,
            source=source,
            lang="sv",
            title=f"post {n}",
            text_snippet=f"text {n}",
            url=f"https://example.test/{prefix}{n}",
        )
        for n, at in enumerate(times)
    ]


def daily_history(
    brand: str,
    end: datetime,
    days: int,
    complaints: int,
    others: int,
    hours: tuple[int, ...] = (9, 12, 15),
) -> list[PostEvent]:
    """`days` days before `end`: `complaints` complaints, `others` neutral posts a day (UTC)."""
    events: list[PostEvent] = []
    first = end.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    for day in range(days):
        base = first + timedelta(days=day)
        c_times = [
            base + timedelta(hours=hours[i % len(hours)], minutes=7 * i) for i in range(complaints)
        ]
        o_times = [
            base + timedelta(hours=8, minutes=(600 * i) // max(others, 1)) for i in range(others)
        ]
        events += make_events(brand, c_times, 0.9, prefix=f"c{day}-")
        events += make_events(brand, o_times, 0.05, 0.1, prefix=f"o{day}-")
    return [e for e in events if e.at < end]
