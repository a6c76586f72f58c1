"""`milvus-reference serve ...`: run the reference server until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from reference.domain.profile import DEFAULT_PROFILE, ProfileError, available_profiles

log = logging.getLogger("reference")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milvus-reference",
        description="Reference Milvus server with documented user authentication.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the Milvus gRPC protocol")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=19530, help="port; 0 picks a free one")
    serve.add_argument(
        "--data-dir", type=Path, help="persistent data directory (default: a temporary one)"
    )
    serve.add_argument(
        "--no-auth", action="store_true", help="accept every call whatever its credentials"
    )
    serve.add_argument(
        "--root-password",
        default=None,
        help="root's password when root is first created (default Milvus); ignored afterwards",
    )
    serve.add_argument(
        "--profile",
        choices=available_profiles(),
        default=DEFAULT_PROFILE,
        help=f"behaviour profile (default {DEFAULT_PROFILE})",
    )
    serve.add_argument("--ready-file", type=Path, help="write the bound port here when ready")
    serve.add_argument(
        "--super-users",
        type=_name_list,
        default=(),
        help="comma-separated users who may reset passwords without the old one",
    )
    return parser


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("port must be between 0 and 65535")
    return value


def _name_list(text: str) -> tuple[str, ...]:
    # Trimmed, like Milvus 2.5+ parses common.security.superUsers (observed §3.4).
    return tuple(name.strip() for name in text.split(",") if name.strip())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    if args.command == "serve":
        return serve(args)
    return 2


def serve(args: argparse.Namespace) -> int:
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    temporary_dir: Path | None = None
    data_dir = args.data_dir
    if data_dir is None:
        temporary_dir = data_dir = Path(tempfile.mkdtemp(prefix="milvus-reference-"))
        print(f"no --data-dir given: using temporary directory {data_dir}", file=sys.stderr)

    # Imported here so `--help` and argument errors stay instant.
    from reference.app import StartupError
    from reference.wire.server import DEFAULT_ROOT_PASSWORD, ReferenceServer, ServerConfig

    config = ServerConfig(
        data_dir=data_dir,
        host=args.host,
        port=args.port,
        auth_enabled=not args.no_auth,
        root_password=DEFAULT_ROOT_PASSWORD if args.root_password is None else args.root_password,
        profile=args.profile,
        super_users=args.super_users,
    )
    server = ReferenceServer(config)
    try:
        try:
            server.start()
        except (StartupError, ProfileError, OSError) as error:
            print(f"milvus-reference: {error}", file=sys.stderr)
            return 1
        if args.root_password is not None and server.app and not server.app.root_created:
            print("root already exists: --root-password ignored", file=sys.stderr)
        if args.ready_file is not None:
            _write_ready_file(args.ready_file, server.port)
        print(f"listening on {server.address}", flush=True)
        while not stop_requested.wait(0.2):
            pass
        server.stop()
        if args.ready_file is not None:
            args.ready_file.unlink(missing_ok=True)
        return 0
    finally:
        server.stop(grace=0)
        if temporary_dir is not None:
            shutil.rmtree(temporary_dir, ignore_errors=True)


def _write_ready_file(path: Path, port: int | None) -> None:
    """Atomic, so a watcher never reads a half-written port."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(f"{port}\n", encoding="ascii")
    os.replace(partial, path)


if __name__ == "__main__":
    raise SystemExit(main())
