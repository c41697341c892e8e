"""The SSRF guard's decisions: which site names and resolved addresses an account's requests may go to."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from confluence_mcp.policy.hosts import HostPolicy, address_refusal, ip_literal, non_public_kind, site_refusal

ATLASSIAN = ("*.atlassian.net", "api.atlassian.com")
DEFAULT = HostPolicy(ATLASSIAN)
ANY = HostPolicy(("*",))
SETTING = "upstream.allowed_hosts"

# (scheme, host, a fragment of the refusal, or None when the default policy allows it)
SITES: list[tuple[str, str, str | None]] = [
    ("https", "acme.atlassian.net", None),
    ("https", "ACME.Atlassian.NET", None),
    ("https", "a.b.atlassian.net", None),
    ("https", "api.atlassian.com", None),
    ("http", "acme.atlassian.net", "must use https"),
    ("ftp", "acme.atlassian.net", "must use https"),
    ("https", "atlassian.net", "not allowed by upstream.allowed_hosts"),
    ("https", "acme.atlassian.net.evil.example", "not allowed by upstream.allowed_hosts"),
    ("https", "evilatlassian.net", "not allowed by upstream.allowed_hosts"),
    ("https", "x.api.atlassian.com", "not allowed by upstream.allowed_hosts"),
    ("https", "confluence.example.com", "not allowed by upstream.allowed_hosts"),
    ("https", "127.0.0.1", "is an IP address"),
    ("https", "8.8.8.8", "is an IP address"),
    ("https", "2130706433", "is an IP address"),
    ("https", "0x7f.1", "is an IP address"),
    ("https", "0x7F000001", "is an IP address"),
    ("https", "0177.0.0.1", "is an IP address"),
    ("https", "127.1", "is an IP address"),
    ("https", "127.0.0.1.", "is an IP address"),
    ("https", "::1", "is an IP address"),
    ("https", "[::1]", "is an IP address"),
    ("https", "::ffff:127.0.0.1", "is an IP address"),
    ("https", "::ffff:7f00:1", "is an IP address"),
    ("https", "fe80::1%eth0", "is an IP address"),
    ("https", "169.254.169.254", "is an IP address"),
    ("https", "0.0.0.0", "is an IP address"),
    ("https", "0", "is an IP address"),
    ("https", "1.2.3.999", "neither a valid host name nor an IPv4 address"),
    ("https", "08.0.0.1", "neither a valid host name nor an IPv4 address"),
    ("https", "example.0x1f", "neither a valid host name nor an IPv4 address"),
    ("https", "acme.atlassian.123", "neither a valid host name nor an IPv4 address"),
    ("https", "localhost", "is a loopback name"),
    ("https", "LOCALHOST.", "is a loopback name"),
    ("https", "acme.localhost", "is a loopback name"),
]


@pytest.mark.parametrize(("scheme", "host", "fragment"), SITES)
def test_the_default_policy_allows_atlassian_https_names_only(scheme: str, host: str, fragment: str | None) -> None:
    """Public https names under the default globs pass; IPs in any spelling, loopback names and others do not."""
    refusal = site_refusal(scheme, host, DEFAULT)
    if fragment is None:
        assert refusal is None
    else:
        assert refusal is not None
        assert fragment in refusal


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "2130706433", "0x7f.1", "::1", "::ffff:127.0.0.1", "10.0.0.5", "8.8.8.8", "localhost", "a.localhost"],
)
@pytest.mark.parametrize("pattern", ["*", "*.*.*.*", "127.0.0.*", "*localhost", "[0-9]*", "*:*"])
def test_a_wildcard_never_allows_an_ip_literal_or_a_loopback_name(pattern: str, host: str) -> None:
    """Only an exact entry is the operator's deliberate exception; a glob that happens to match is not."""
    refusal = site_refusal("https", host, HostPolicy((pattern,)))
    assert refusal is not None
    assert "exactly" in refusal or "not allowed" in refusal


def test_every_refusal_names_the_setting_to_widen_unless_the_host_is_malformed() -> None:
    """The operator learns which key to change from the message itself."""
    for scheme, host, fragment in SITES:
        refusal = site_refusal(scheme, host, DEFAULT)
        if refusal is not None and fragment not in ("must use https", "neither a valid host name nor an IPv4 address"):
            assert SETTING in refusal, (host, refusal)


@pytest.mark.parametrize(
    ("entries", "scheme", "host"),
    [
        (("127.0.0.1",), "http", "127.0.0.1"),
        (("127.0.0.1",), "https", "2130706433"),  # the same address, spelled otherwise
        (("127.0.0.1",), "http", "0x7f.0.0.1"),
        (("::1",), "http", "::1"),
        (("[::1]",), "http", "0:0:0:0:0:0:0:1"),
        (("localhost",), "http", "localhost"),
        (("localhost",), "http", "LocalHost."),
        (("wiki.corp.example",), "http", "wiki.corp.example"),
        (("10.0.0.5", "*.atlassian.net"), "https", "10.0.0.5"),
    ],
)
def test_an_exact_entry_allows_that_host_even_over_plain_http(entries: tuple[str, ...], scheme: str, host: str) -> None:
    """An IP literal, a loopback name or an internal name listed exactly passes, http included."""
    assert site_refusal(scheme, host, HostPolicy(entries)) is None


@pytest.mark.parametrize(
    ("entries", "host"),
    [
        (("127.0.0.1",), "127.0.0.2"),
        (("127.0.0.1",), "localhost"),
        (("localhost",), "127.0.0.1"),
        (("wiki.corp.example",), "other.corp.example"),
        (("wiki.corp.example",), "wiki.corp.example.evil.example"),
    ],
)
def test_an_exact_entry_allows_nothing_but_its_host(entries: tuple[str, ...], host: str) -> None:
    """An exact entry is not a prefix, a suffix, nor a stand-in for another name of the same machine."""
    assert site_refusal("https", host, HostPolicy(entries)) is not None


def test_legacy_allow_http_admits_plain_http_for_wildcard_hosts_but_never_ips() -> None:
    """upstream.allow_http keeps its old meaning for public names; it grants nothing an exact entry would."""
    legacy = HostPolicy(ATLASSIAN, allow_http=True)
    assert site_refusal("http", "acme.atlassian.net", legacy) is None
    assert site_refusal("http", "127.0.0.1", legacy) is not None
    assert site_refusal("http", "localhost", legacy) is not None


# (a resolved address, the kind of address it is, or None for public unicast)
ADDRESSES: list[tuple[str, str | None]] = [
    ("104.192.141.1", None),
    ("8.8.8.8", None),
    ("2606:4700::1111", None),
    ("::ffff:8.8.8.8", None),
    ("2002:808:808::1", None),  # 6to4 of a public address
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:7f00:1", "loopback"),
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ("10.0.0.5", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "private"),
    ("::ffff:10.0.0.1", "private"),
    ("64:ff9b::a00:1", "private"),
    ("64:ff9b:1::1", "private"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fec0::1", "private"),
    ("169.254.169.254", "link-local"),
    ("::ffff:169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("::ffff:0.0.0.0", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.2.1", "reserved"),
    ("198.18.0.1", "reserved"),
    ("198.51.100.1", "reserved"),
    ("203.0.113.1", "reserved"),
    ("192.0.0.8", "reserved"),
    ("192.88.99.1", "reserved"),
    ("2001:db8::1", "reserved"),
    ("2001::1", "reserved"),  # Teredo
    ("100::1", "reserved"),
    ("::127.0.0.1", "reserved"),  # the deprecated IPv4-compatible form
    ("4000::1", "reserved"),  # outside global unicast 2000::/3
    ("3fff::1", "reserved"),
]


@pytest.mark.parametrize(("address", "kind"), ADDRESSES)
def test_each_resolved_address_is_classified(address: str, kind: str | None) -> None:
    """Loopback, private, link-local, multicast, reserved and unspecified addresses (v4, v6, embedded v4) are named."""
    parsed = ip_literal(address)
    assert parsed is not None
    assert non_public_kind(parsed) == kind


@pytest.mark.parametrize(("address", "kind"), [(a, k) for a, k in ADDRESSES if k is not None])
def test_a_public_name_resolving_to_a_non_public_address_is_refused_without_naming_the_address(
    address: str, kind: str
) -> None:
    """DNS rebinding: a name the allow-list matches is refused when it resolves inward; the address stays unsaid."""
    refusal = address_refusal("rebind.atlassian.net", address, DEFAULT)
    assert refusal is not None
    assert "'rebind.atlassian.net'" in refusal
    assert f" {kind} address" in refusal
    assert SETTING in refusal
    assert address not in refusal


def test_an_exactly_allowed_host_may_resolve_to_a_private_address() -> None:
    """The operator who lists wiki.corp.example exactly means it to resolve inside the network."""
    policy = HostPolicy(("wiki.corp.example", "*.atlassian.net"))
    assert address_refusal("wiki.corp.example", "10.1.2.3", policy) is None
    assert address_refusal("acme.atlassian.net", "10.1.2.3", policy) is not None


def test_an_answer_that_is_not_an_address_is_refused() -> None:
    """A resolver that hands back a name (or garbage) is not trusted with a connection."""
    assert address_refusal("acme.atlassian.net", "not-an-address", DEFAULT) is not None


SPELLINGS = [
    "127.0.0.1",
    "2130706433",
    "0x7f.1",
    "0x7f000001",
    "0X7F.0.0.1",
    "0177.0.0.1",
    "00000000177.1",
    "017777777777",
    "127.1",
    "127.0.1",
    "127.0.65535",
    "127.16777215",
    "0",
    "0x0",
    "4294967295",
    "0xffffffff",
    "037777777777",
    "10.0xa.012.10",
    # not addresses:
    "4294967296",
    "0x100000000",
    "040000000000",
    "127.16777216",
    "127.0.0.256",
    "256.0.0.1",
    "08.0.0.1",
    "0x",
    "0xg",
    "1.2.3.4.5",
    "1..1",
    ".1.1.1",
    "1.2.3.",
    "-1",
    "1e3",
    "example.com",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_ipv4_spellings_are_read_exactly_as_the_c_library_reads_them(spelling: str) -> None:
    """ip_literal agrees with inet_aton (which getaddrinfo tries before DNS) on every spelling, 0x7f.1 included."""
    try:
        expected: ipaddress.IPv4Address | None = ipaddress.IPv4Address(socket.inet_aton(spelling))
    except OSError:
        expected = None
    assert ip_literal(spelling) == expected


def test_ipv6_literals_are_read_with_or_without_brackets() -> None:
    """A bracketed host from a URL and a bare one are the same address; a bad one is no address."""
    assert ip_literal("[::ffff:127.0.0.1]") == ipaddress.IPv6Address("::ffff:7f00:1")
    assert ip_literal("::1") == ipaddress.IPv6Address("::1")
    assert ip_literal("[::1") is None
    assert ip_literal(":::1") is None
