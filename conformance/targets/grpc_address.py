"""`grpc://HOST:PORT`: a server someone else runs. We neither start nor stop it."""

from __future__ import annotations

import re

from conformance.targets.base import Target, TargetError, TargetOptions, port_accepts

_SPEC = re.compile(r"^grpc://(?P<host>\[[0-9a-fA-F:]+\]|[\w.\-]+):(?P<port>\d{1,5})/?$")


class GrpcAddressTarget(Target):
    def __init__(self, spec: str, options: TargetOptions) -> None:
        super().__init__(options)
        match = _SPEC.match(spec)
        if match is None or not 0 < int(match.group("port")) < 65536:
            raise TargetError(f"bad target {spec!r}: expected grpc://HOST:PORT")
        self.name = spec
        self._host, self._port = match.group("host"), int(match.group("port"))
        # Only the user can vouch that an external server is freshly installed (--fresh).
        self.capabilities = frozenset({"fresh"}) if options.fresh else frozenset()
        if options.management_url:
            self.capabilities |= {"management_port"}

    def start(self) -> None:
        if not port_accepts(self._host.strip("[]"), self._port, timeout=3.0):
            raise TargetError(f"nothing accepts connections at {self._host}:{self._port}")
        self.address = f"{self._host}:{self._port}"

    def stop(self) -> None:
        self.address = ""
