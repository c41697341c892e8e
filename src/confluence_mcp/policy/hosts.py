"""Which hosts and addresses an account's requests may go to: the SSRF guard's pure decisions.

An account's site must be an https host name that ``upstream.allowed_hosts`` matches (glob patterns such as
``*.atlassian.net``), and every address that name resolves to must be public. An entry that names a host exactly
(no ``*``, ``?`` or ``[``) is the operator's deliberate exception: that host may be an IP literal, a loopback
name, resolve to a private address or use plain http. A wildcard never grants any of that.

The admin rules ask ``site_refusal`` when an account is created or changed; the upstream transports ask it
again, and ``address_refusal`` for each resolved address, when they connect. Each returns why not, or ``None``.
Messages name the host and the setting to change, never a resolved address.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Final

__all__ = ["HostPolicy", "address_refusal", "ip_literal", "non_public_kind", "site_refusal"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SETTING: Final = "upstream.allowed_hosts"
_WILDCARDS: Final = frozenset("*?[")
_NUMBER_LABEL: Final = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """The allow-list of upstream hosts (lowercase glob patterns) and the legacy plain-http switch."""

    allowed: tuple[str, ...]
    allow_http: bool = False
    """Legacy ``upstream.allow_http``: plain http also for hosts a wildcard matches (still never for IPs)."""

    def exactly_allows(self, host: str) -> bool:
        """Whether an entry without wildcards names ``host`` (IP literals compare as addresses, any spelling)."""
        host = _name(host)
        address = ip_literal(host)
        for entry in self.allowed:
            listed = ip_literal(entry)  # before the wildcard test: "[::1]" is an address, not a character class
            if listed is not None:
                if listed == address:
                    return True
            elif not _WILDCARDS.intersection(entry) and _name(entry) == host:
                return True
        return False

    def matches(self, host: str) -> bool:
        """Whether any entry, exact or glob, matches ``host``."""
        host = _name(host)
        return any(fnmatchcase(host, entry) for entry in self.allowed) or self.exactly_allows(host)


def site_refusal(scheme: str, host: str, policy: HostPolicy) -> str | None:
    """Return why an account may not use ``scheme://host``, or ``None`` when it may."""
    host, scheme = _name(host), scheme.lower()
    if scheme not in ("https", "http"):
        return "must use https"
    if policy.exactly_allows(host):
        return None
    exact_hint = f"list it exactly (not by a wildcard) in {_SETTING} to allow it"
    if ip_literal(host) is not None:
        return f"{host!r} is an IP address, not a site name; {exact_hint}"
    if _ends_in_number(host):
        return f"{host!r} is neither a valid host name nor an IPv4 address"
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host!r} is a loopback name; {exact_hint}"
    if not policy.matches(host):
        return f"host {host!r} is not allowed by {_SETTING} ({', '.join(policy.allowed)}); add it there to allow it"
    if scheme == "http" and not policy.allow_http:
        return f"must use https (plain http is allowed only for a host listed exactly in {_SETTING})"
    return None


def address_refusal(host: str, address: str, policy: HostPolicy) -> str | None:
    """Return why a connection to ``host`` may not go to ``address``, one of its resolved addresses, or ``None``."""
    if policy.exactly_allows(host):
        return None
    parsed = ip_literal(address)
    if parsed is None:
        return f"{host!r} resolved to something that is not an IP address"
    kind = non_public_kind(parsed)
    if kind is None:
        return None
    article = "an" if kind[0] in "aeiou" else "a"
    return f"{host!r} resolves to {article} {kind} address, which only a host listed exactly in {_SETTING} may use"


def ip_literal(host: str) -> IPAddress | None:
    """Return the address ``host`` spells, or ``None`` for a name.

    Besides IPv6 and dotted quads this reads every spelling ``inet_aton`` (and so ``getaddrinfo``) accepts:
    fewer than four parts, decimal, octal (leading 0) and hex (0x) numbers, as in ``2130706433``, ``0x7f.1``
    or ``0177.0.0.1``.
    """
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return _inet_aton(text)


def non_public_kind(address: IPAddress) -> str | None:
    """Return what kind of non-public address ``address`` is (``loopback``, ``private``, ...), or ``None``.

    The tables below, not the ``ipaddress`` flags alone, decide: those flags changed between Python patch
    releases (IPv4-mapped IPv6 was not loopback before 3.13). Addresses that embed an IPv4 address
    (IPv4-mapped, NAT64, 6to4) are judged by the address they embed.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return non_public_kind(embedded)
        table = _IPV6_SPECIAL
    else:
        table = _IPV4_SPECIAL
    for network, kind in table:
        if address in network:
            return kind
    if isinstance(address, ipaddress.IPv6Address) and address not in _IPV6_GLOBAL_UNICAST:
        return "reserved"
    if address.is_multicast:
        return "multicast"
    if not address.is_global:
        return "non-public"
    return None


def _name(host: str) -> str:
    """Return ``host`` as DNS compares it: lowercase, without the root's trailing dot."""
    return host.strip().lower().rstrip(".")


def _ends_in_number(host: str) -> bool:
    """Whether the last label is a number: resolvers and browsers then read the whole host as IPv4."""
    return bool(_NUMBER_LABEL.match(host.rsplit(".", 1)[-1]))


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_aton_number(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    *head, last = values
    if any(n > 0xFF for n in head) or last >= 1 << (8 * (5 - len(values))):
        return None
    value = last
    for index, number in enumerate(head):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _aton_number(part: str) -> int | None:
    if part.startswith("0x"):
        digits, base = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if not digits or not all(c in "0123456789abcdef"[:base] for c in digits):
        return None
    return int(digits, base)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _networks(*rows: tuple[str, str]) -> tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]:
    return tuple((ipaddress.ip_network(network), kind) for network, kind in rows)


# IANA's special-purpose registries, one row per block that is not reachable public unicast.
_IPV4_SPECIAL: Final = _networks(
    ("0.0.0.0/8", "unspecified"),  # "this network"; 0.0.0.0 reaches the local host on Linux
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "private"),  # shared address space (carrier-grade NAT)
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),  # cloud metadata services answer on 169.254.169.254
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
    ("192.0.2.0/24", "reserved"),  # documentation
    ("192.88.99.0/24", "reserved"),  # 6to4 relay anycast
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved"),  # benchmarking
    ("198.51.100.0/24", "reserved"),  # documentation
    ("203.0.113.0/24", "reserved"),  # documentation
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # includes the broadcast address 255.255.255.255
)
_IPV6_SPECIAL: Final = _networks(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "private"),  # local-use NAT64
    ("100::/64", "reserved"),  # discard-only
    ("2001::/23", "reserved"),  # IETF protocol assignments, Teredo included
    ("2001:db8::/32", "reserved"),  # documentation
    ("3fff::/20", "reserved"),  # documentation
    ("5f00::/16", "reserved"),  # segment routing
    ("fc00::/7", "private"),  # unique local
    ("fe80::/10", "link-local"),
    ("fec0::/10", "private"),  # the deprecated site-local block
    ("ff00::/8", "multicast"),
)
_IPV6_GLOBAL_UNICAST: Final = ipaddress.IPv6Network("2000::/3")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
