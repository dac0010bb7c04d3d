"""Which URLs a webhook may be sent to, checked when an endpoint is saved and again when sent.

In production only https, and never an address that is loopback, private, link-local (the
cloud metadata address 169.254.169.254 is one), multicast, reserved or unspecified. At send
time the name is resolved once and the connection goes to the address that was checked
(with the URL's name in the Host header and for TLS), so a name that changes its answer
between check and connect (DNS rebinding) cannot reach an internal address. Development also
allows http and loopback, and the admin page says so.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from webapp.services.core.errors import InvalidInput
from webapp.services.core.i18n import _

# (host, port) -> the addresses the name resolves to
Resolver = Callable[[str, int], Sequence[str]]
METADATA_ADDRESSES = frozenset({"169.254.169.254", "fd00:ec2::254", "100.100.100.200"})


class RefusedAddress(Exception):
    """The URL's name resolves to an address webhooks may not reach."""


@dataclass(frozen=True)
class Target:
    """Where one request goes: the URL's parts and the addresses checked for it (tried in
    order until one accepts the connection: "localhost" may list ::1 first)."""

    scheme: str
    host: str
    port: int
    path: str  # with the query
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def forbidden(address: str) -> bool:
    """Whether an address is one webhooks may not reach in production."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (str(ip) in METADATA_ADDRESSES or ip.is_loopback or ip.is_private
            or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
            or not ip.is_global)


def parse(url: str, *, production: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL an endpoint may have; InvalidInput on the "url"
    field otherwise."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(_("Enter a valid URL."), field="url") from exc
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed or not parts.hostname:
        raise InvalidInput(_("Enter an https:// URL.") if production else
                           _("Enter an http:// or https:// URL."), field="url")
    if parts.username or parts.password:
        raise InvalidInput(_("Leave the user name and password out of the URL."), field="url")
    if len(url) > 2000:
        raise InvalidInput(_("Keep the URL under 2,000 characters."), field="url")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def check(url: str, *, production: bool, resolve: Resolver = system_resolver) -> Target:
    """The URL's target: resolved once; in production every address must be allowed (a
    name with one internal address among public ones is refused)."""
    scheme, host, port, path = parse(url, production=production)
    try:
        found = list(resolve(host, port))
    except (OSError, UnicodeError) as exc:
        raise RefusedAddress(_("%(host)s does not resolve: %(reason)s", host=host,
                               reason=str(exc))) from exc
    if not found:
        raise RefusedAddress(_("%(host)s does not resolve.", host=host))
    if production:
        bad = [a for a in found if forbidden(a)]
        if bad:
            raise RefusedAddress(_("%(host)s resolves to %(address)s, an internal address; "
                                   "webhooks are only sent to public addresses.", host=host,
                                   address=str(bad[0])))
    return Target(scheme, host, port, path, tuple(found))


def is_local(url: str) -> bool:
    """Whether a URL is plain http or names a loopback host: allowed in development only,
    and the admin page warns about it."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "http" or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return forbidden(host)
    except ValueError:
        return False
