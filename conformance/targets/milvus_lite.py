"""`milvus-lite`: spawns `milvus-lite server` (accepts any credential: the negative control)."""

from __future__ import annotations

from conformance.targets.base import (
    LOOPBACK,
    LocalProcessTarget,
    TargetError,
    TargetOptions,
    find_executable,
    free_port,
    make_temp_dir,
    port_accepts,
    spawn,
    stop_process,
    wait_until,
)


class MilvusLiteTarget(LocalProcessTarget):
    capabilities = frozenset({"fresh", "restart"})

    def __init__(self, options: TargetOptions) -> None:
        super().__init__(options)
        self.name = "milvus-lite"
        self._port = 0

    def start(self) -> None:
        if self._proc is not None:
            raise TargetError("milvus-lite target already started")
        self._home = make_temp_dir(self.options, "milvus-lite-")
        # milvus-lite prints the requested port, so port 0 cannot be used: pick one ourselves.
        self._launch(free_port())

    def restart(self) -> None:
        if self._proc is None:
            raise TargetError("milvus-lite target is not running")
        stop_process(self._proc)
        self._proc = None
        self._launch(self._port)

    def _launch(self, port: int) -> None:
        assert self._home is not None and self.log_path is not None
        argv = [
            find_executable("milvus-lite"),
            "server",
            "--data-dir",
            str(self._home / "data"),
            "--host",
            LOOPBACK,  # its default is 0.0.0.0
            "--port",
            str(port),
        ]
        log_path = self.log_path
        offset = log_path.stat().st_size if log_path.exists() else 0  # ignore earlier launches
        self._proc = spawn(argv, log_path)

        def ready() -> str | None:
            with open(log_path, "rb") as log:
                log.seek(offset)
                announced = b"listening on" in log.read(64 * 1024)
            return f"{LOOPBACK}:{port}" if announced and port_accepts(LOOPBACK, port) else None

        self.address = wait_until(
            ready, self._proc, self.options.startup_timeout, "milvus-lite", log_path
        )
        self._port = port
