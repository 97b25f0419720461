"""monitor.fetch.gate: table-driven cases plus properties over arbitrary strings and IPs.

The gate does no I/O, so public IP literals appear here only as strings.
"""

from __future__ import annotations

import contextlib
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.errors import URLRefused
from monitor.fetch.gate import UrlGate

GATE = UrlGate()
NON_GLOBAL = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
        "2001:db8::/32",
        "100::/64",
    )
]


def in_network(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> st.SearchStrategy[str]:
    return st.integers(0, net.num_addresses - 1).map(lambda i: str(net[i]))


non_global_ips = st.sampled_from(NON_GLOBAL).flatmap(in_network)
mapped_non_global = (
    st.sampled_from([n for n in NON_GLOBAL if n.version == 4])
    .flatmap(in_network)
    .map(lambda v4: f"::ffff:{v4}")
)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http:///path",
        "http://",
        "https://user:pw@example.com/",
        "https://token@example.com/",
        "http://127.0.0.1/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://0177.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[64:ff9b::a00:1]/",
        "http://[2002:a00:1::]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.1.1/",
        "http://10.1.2.3:8080/",
        "http://224.0.0.1/",
        "http://0.0.0.0/",
        "http://exa mple.com/",
        "http://example.com\\@127.0.0.1/",
        "http://example.com:99999/",
        "http://[::1/",
    ],
)
def test_refused_urls(url):
    with pytest.raises(URLRefused):
        GATE.check_url(url)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Example.COM./feed", "example.com"),
        ("http://blog.example.org:8080/x?y=1#z", "blog.example.org"),
        ("https://bücher.example/", "xn--bcher-kva.example"),
        ("http://93.184.215.14/", "93.184.215.14"),
        ("http://[2606:4700::1111]/", "2606:4700::1111"),
        ("HTTPS://localhost/", "localhost"),  # a name: decided at connect time
    ],
)
def test_accepted_urls_return_normalised_host(url, host):
    assert GATE.check_url(url) == host


def test_allow_list_admits_hosts_not_addresses():
    gate = UrlGate(allowed_hosts=frozenset({"127.0.0.1", "intranet.local"}))
    assert gate.check_url("http://127.0.0.1:8000/") == "127.0.0.1"
    gate.check_address("intranet.local", "10.0.0.5")
    gate.check_address("127.0.0.1", "127.0.0.1")
    with pytest.raises(URLRefused):
        gate.check_address("localhost", "127.0.0.1")
    with pytest.raises(URLRefused):
        gate.check_url("http://127.0.0.2/")


def test_allow_private_networks_admits_everything_parseable():
    gate = UrlGate(allow_private_networks=True)
    assert gate.check_url("http://10.0.0.1/") == "10.0.0.1"
    gate.check_address("anything", "fe80::1%eth0")
    with pytest.raises(URLRefused):
        gate.check_address("anything", "not-an-ip")


def test_public_addresses_pass():
    for address in ("93.184.215.14", "2606:4700::1111", "::ffff:93.184.215.14"):
        GATE.check_address("example.com", address)


@given(st.text())
def test_check_url_raises_only_url_refused(url):
    with contextlib.suppress(URLRefused):
        assert isinstance(GATE.check_url(url), str)


@given(st.from_regex(r"\Ahttps?://[^/?#]{0,40}(/.{0,20})?\Z"))
def test_check_url_on_url_shaped_text_raises_only_url_refused(url):
    with contextlib.suppress(URLRefused):
        GATE.check_url(url)


@given(host=st.text(), address=st.text())
def test_check_address_raises_only_url_refused(host, address):
    with contextlib.suppress(URLRefused):
        GATE.check_address(host, address)


@given(address=non_global_ips | mapped_non_global, host=st.text(max_size=20))
def test_non_global_addresses_refused_unless_allowed(address, host):
    with pytest.raises(URLRefused):
        GATE.check_address(host, address)
    UrlGate(allow_private_networks=True).check_address(host, address)
    UrlGate(allowed_hosts=frozenset({host.lower().rstrip(".")})).check_address(host, address)


@given(st.ip_addresses())
def test_any_ip_refused_iff_not_public(ip):
    ip = ipaddress.ip_address(ip)
    obviously_internal = any(ip in net for net in NON_GLOBAL if net.version == ip.version)
    try:
        GATE.check_address("example.com", str(ip))
        refused = False
    except URLRefused:
        refused = True
    if obviously_internal:
        assert refused
    if not refused:
        assert ip.is_global
        assert not ip.is_multicast
