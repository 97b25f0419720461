"""The URL gate: which URLs and which IP addresses Stormwatch may fetch from (SSRF defence).

Source URLs come from configuration, but redirects and links inside feeds come from the
outside world, so every hop passes this gate. Two checks, at two moments:

- ``check_url`` runs *before* a request: scheme http/https only, a host must be present,
  no userinfo (``http://user:pass@host/``: credentials do not belong in crawl URLs and the
  ``@`` is the classic trick to disguise the real host), and a host that is itself an IP
  literal must be global. Legacy IPv4 spellings (``127.1``, ``0x7f.0.0.1``, ``2130706433``)
  are read the way the C resolver reads them, so they cannot slip past as "names".
- ``check_address`` runs *at connect time* on the address actually connected to (see the
  guarded network backend in ``monitor.fetch.transport``). Reason: a host name is only a
  promise; DNS can answer with ``127.0.0.1`` or ``169.254.169.254`` (and change its answer
  between a check and the connect: DNS rebinding). Only the connected address is the truth
  (docs/ARCHITECTURE.md, "Fetch: the address gate").

"Global" here is stricter than ``ipaddress``' ``is_global`` in Python 3.11, which calls
multicast, ``192.0.0.8``, site-local ``fec0::/10``, NAT64 ``64:ff9b::/96`` and 6to4
addresses global (a property test found ``192.0.0.8``). An address is admitted only if
``ipaddress`` finds it global and not multicast/reserved/private/loopback/link-local/
unspecified, it is in none of the blocks of our own ``_NEVER_PUBLIC`` table (so the
answer does not change with the Python patch release), and any IPv4 address embedded in
it (IPv4-mapped, NAT64, 6to4, Teredo) passes the same test. IPv4-compatible ``::/96``
is refused outright (deprecated; nothing legitimate lives there).

``allowed_hosts`` admits a *host* (name or IP literal, as written in the URL), not an
address: with ``allowed_hosts={"127.0.0.1"}``, ``http://localhost/`` is still refused.
Reason: admitting addresses would let any public DNS name that points at an allowed
internal address reach it. The gate never does I/O and raises only ``URLRefused``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.errors import URLRefused

__all__ = ["UrlGate", "is_public_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SCHEMES = frozenset({"http", "https"})
# Refused whatever the running Python's ipaddress tables say (they changed in 3.11.x/3.12/
# 3.13, and 3.11.7 calls 192.0.0.8, multicast and fec0::/10 global). IANA special-purpose
# registries, "globally reachable: false" blocks, plus documentation/benchmark ranges.
_NEVER_PUBLIC = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/96", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
        "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


def _plainly_public(ip: IPAddress) -> bool:
    """True if ``ip`` is global by every flag ``ipaddress`` has (no embedded-IPv4 rules)."""
    flags = (
        ip.is_private,
        ip.is_loopback,
        ip.is_link_local,
        ip.is_multicast,
        ip.is_reserved,
        ip.is_unspecified,
    )
    if any(flags) or not ip.is_global:
        return False
    return not any(ip in net for net in _NEVER_PUBLIC if net.version == ip.version)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to through a translator (NAT64, 6to4, Teredo)."""
    found: list[ipaddress.IPv4Address] = []
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def is_public_address(ip: IPAddress) -> bool:
    """True if connecting to ``ip`` can only reach the public Internet."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _plainly_public(ip)
    if ip.ipv4_mapped is not None:  # the kernel dials the IPv4 address itself
        return _plainly_public(ip.ipv4_mapped)
    return _plainly_public(ip) and all(_plainly_public(v4) for v4 in _embedded_ipv4(ip))


def _parse_ip(text: str) -> IPAddress | None:
    """An IP address from a URL host or a socket address; None if ``text`` is not one."""
    text = text.strip("[]").split("%", 1)[0]  # brackets of URL IPv6, zone id of sockaddr
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _normalise_host(host: str) -> str:
    """Lower-case, no trailing dot, IDNA (punycode) for non-ASCII names."""
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise URLRefused(f"host name {host!r} is not a valid international name") from None


def _split(url: str) -> tuple[str, str, str]:
    """(scheme, netloc, host) of ``url``; URLRefused if it cannot be read."""
    if not isinstance(url, str) or _BAD_URL_CHARS.search(url):
        raise URLRefused("URL contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise URLRefused(f"URL cannot be read: {exc}") from None
    return parts.scheme.lower(), parts.netloc, host


@dataclass(frozen=True)
class UrlGate:
    """Decides whether a URL may be fetched and whether an address may be connected to."""

    allow_private_networks: bool = False
    allowed_hosts: frozenset[str] = frozenset()

    def check_url(self, url: str) -> str:
        """Return the normalised host of ``url``, or raise URLRefused saying why not."""
        scheme, netloc, raw_host = _split(url)
        if scheme not in _SCHEMES:
            raise URLRefused(f"scheme {scheme or '(none)'!r} is not http or https")
        if "@" in netloc:
            raise URLRefused("URL contains user information (user:password@)")
        if not raw_host:
            raise URLRefused("URL has no host")
        host = _normalise_host(raw_host)
        ip = _parse_ip(host)
        if ip is not None:
            self._check_ip(host, ip)
        return host

    def check_address(self, host: str, address: str) -> None:
        """Raise URLRefused unless connecting to ``address`` (for ``host``) is allowed."""
        ip = _parse_ip(str(address))
        if ip is None:
            raise URLRefused(f"{address!r} is not an IP address")
        self._check_ip(str(host).lower().rstrip("."), ip)

    def host_allowed(self, host: str) -> bool:
        """True if ``host`` may use private addresses (allow-listed or private allowed)."""
        return self.allow_private_networks or host in self.allowed_hosts

    def _check_ip(self, host: str, ip: IPAddress) -> None:
        if self.host_allowed(host) or is_public_address(ip):
            return
        raise URLRefused(
            f"{host} -> {ip} is not a public address; add the host to "
            "[network] allowed_hosts or set allow_private_networks to fetch it"
        )
