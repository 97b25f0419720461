"""Per-client token buckets for the public push endpoints, a pure function of ``now``.

A bucket holds up to ``burst`` tokens and refills at ``rate`` a second; a delivery takes
one. The table is bounded: when full, the buckets touched least recently are
dropped first (those quiet for longest), which only ever forgives a client.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_CLIENTS = 10_000  # addresses remembered at once; enough for hubs and platforms


@dataclass
class Buckets:
    rate: float
    burst: int
    tokens: dict[str, tuple[float, float]] = field(default_factory=dict)  # client -> (t, at)

    def take(self, client: str, now: float) -> float | None:
        """None if ``client`` may send now (a token is taken), else seconds to wait."""
        level, at = self.tokens.get(client, (float(self.burst), now))
        level = min(float(self.burst), level + max(0.0, now - at) * self.rate)
        if level < 1.0:
            self.tokens[client] = (level, now)
            return (1.0 - level) / self.rate
        self._room()
        self.tokens[client] = (level - 1.0, now)
        return None

    def _room(self) -> None:
        if len(self.tokens) < MAX_CLIENTS:
            return
        for client in sorted(self.tokens, key=lambda c: self.tokens[c][1])[: MAX_CLIENTS // 10]:
            del self.tokens[client]
