"""Where a stream may connect: public addresses, less the cluster's own, plus what the settings allow.

Each connection is checked twice: every address its host name resolves to, before connecting (no
packet goes to a refused address), and the address it reached, before any byte is sent and before TLS
(a name that resolves elsewhere the second time gains nothing). It holds however a URL arrived (the
API, the CLI, a playbook, a registry page) and on every redirect, each a connection of its own.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TypeVar, Union

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from zootopia.config import EgressSettings, IPNetwork, parse_endpoint

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


class EgressError(OSError):
    """A connection to an address the egress rules refuse (an OSError: callers see a failed connection)."""


class Rules:
    def __init__(self, settings: EgressSettings) -> None:
        self._networks: list[IPNetwork] = []
        self._endpoints: set[tuple[Address, int]] = set()
        for entry in settings.allowed:
            network, port = parse_endpoint(entry)
            if port is None:
                self._networks.append(network)
            else:
                self._endpoints.add((network.network_address, port))
        self._refused = [parse_endpoint(entry)[0] for entry in settings.refused]

    def refusal(self, host: str, port: int) -> str | None:
        """Why a connection to `host` (an address) and `port` is refused, or None if it is allowed."""
        address = ipaddress.ip_address(host.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if (address, port) in self._endpoints or any(address in network for network in self._networks):
            return None
        if any(address in network for network in self._refused):
            return f"{address} is one of the cluster's own addresses"
        kind = _kind(address)
        return None if kind is None else f"{address} is {kind}"


def _kind(address: Address) -> str | None:
    """What makes an address not public, or None for a public one."""
    for name, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return name
    return None if address.is_global else "not a public address"


def session(settings: EgressSettings) -> requests.Session:
    """A requests session whose every connection is checked against the rules."""
    checked = requests.Session()
    # No proxy from the environment: a proxied connection would go through a pool these rules do not
    # check, to the proxy's address instead of the archive's.
    checked.trust_env = False
    adapter = _Adapter(Rules(settings))
    checked.mount("http://", adapter)
    checked.mount("https://", adapter)
    return checked


Connection = TypeVar("Connection", bound=HTTPConnection)


def _checked(connection: type[Connection], rules: Rules) -> type[Connection]:
    class Checked(connection):  # type: ignore[valid-type,misc]
        def _new_conn(self) -> socket.socket:
            # Before connecting, every address the name resolves to: no packet goes to a refused one.
            try:
                resolved = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            except OSError:
                resolved = []  # the connection itself says why the name does not resolve
            for *_, address in resolved:
                self._check(str(address[0]), int(address[1]))
            # After: the address reached (a name that resolves elsewhere the second time gains nothing).
            sock: socket.socket = super()._new_conn()
            try:
                host, port = sock.getpeername()[:2]
                self._check(host, port)
            except BaseException:
                sock.close()
                raise
            return sock

        def _check(self, host: str, port: int) -> None:
            refusal = rules.refusal(host, port)
            if refusal is not None:
                raise EgressError(f"refused by the egress rules: {self.host}:{self.port} ({refusal})")

    return Checked


class _Adapter(HTTPAdapter):
    def __init__(self, rules: Rules) -> None:
        super().__init__()

        class Plain(HTTPConnectionPool):
            ConnectionCls = _checked(HTTPConnection, rules)

        class Secure(HTTPSConnectionPool):
            ConnectionCls = _checked(HTTPSConnection, rules)

        self.poolmanager.pool_classes_by_scheme = {"http": Plain, "https": Secure}
