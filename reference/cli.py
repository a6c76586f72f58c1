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
        "--http-port",
        type=_port,
        default=None,
        help="also serve REST API v2 on this port (0 picks a free one); off by default",
    )
    serve.add_argument(
        "--management-port",
        type=_port,
        default=None,
        help="serve GET /healthz on this management port (0 picks a free one); off by default",
    )
    serve.add_argument(
        "--deviate",
        action="append",
        default=[],
        type=_deviation_name,
        metavar="NAME",
        help="turn on one seeded spec deviation (repeatable; for the conformance selftest)",
    )
    serve.add_argument(
        "--list-deviations",
        action="store_true",
        help="print the seeded deviations as JSON (name, clauses, summary) and exit",
    )
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


def _deviation_name(text: str) -> str:
    from reference.deviations import UnknownDeviation, check_names

    try:
        check_names([text])
    except UnknownDeviation as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


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
    if args.list_deviations:
        import json

        from reference.deviations import listing

        print(json.dumps(listing(), indent=2))
        return 0
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
    from reference.wire.server import (
        DEFAULT_ROOT_PASSWORD,
        ReferenceServer,
        ServerConfig,
        format_address,
    )

    config = ServerConfig(
        data_dir=data_dir,
        host=args.host,
        port=args.port,
        auth_enabled=not args.no_auth,
        root_password=DEFAULT_ROOT_PASSWORD if args.root_password is None else args.root_password,
        profile=args.profile,
        super_users=args.super_users,
        deviations=tuple(args.deviate),
    )
    server = ReferenceServer(config)
    rest = None
    management = None
    try:
        try:
            server.start()
            if args.http_port is not None:
                # Imported only here: FastAPI/uvicorn must not slow the gRPC-only start-up.
                from reference.rest.server import RestServer

                assert server.app is not None
                rest = RestServer(server.app, args.host, args.http_port)
                rest.start()
            if args.management_port is not None:
                from reference.management import ManagementServer

                assert server.app is not None
                management = ManagementServer(server.app, args.host, args.management_port)
                management.start()
        except (StartupError, ProfileError, OSError) as error:
            print(f"milvus-reference: {error}", file=sys.stderr)
            return 1
        if args.root_password is not None and server.app and not server.app.root_created:
            print("root already exists: --root-password ignored", file=sys.stderr)
        if args.ready_file is not None:
            _write_ready_file(
                args.ready_file,
                server.port,
                rest.url if rest else None,
                management.url if management else None,
            )
        print(f"listening on {server.address}", flush=True)
        if rest is not None:
            print(f"http listening on {format_address(args.host, rest.port)}", flush=True)
        if management is not None:
            print(
                f"management listening on {format_address(args.host, management.port)}", flush=True
            )
        while not stop_requested.wait(0.2):
            pass
        if management is not None:
            management.stop()
            management = None
        if rest is not None:
            rest.stop()
        server.stop()
        if args.ready_file is not None:
            args.ready_file.unlink(missing_ok=True)
        return 0
    finally:
        if management is not None:
            management.stop()
        if rest is not None:
            rest.stop()
        server.stop(grace=0)
        if temporary_dir is not None:
            shutil.rmtree(temporary_dir, ignore_errors=True)


def _write_ready_file(
    path: Path, port: int | None, http_url: str | None = None, management_url: str | None = None
) -> None:
    """Atomic, so a watcher never reads a half-written port. Line 1: the gRPC port; line 2
    (only with --http-port): the REST base URL; last (only with --management-port):
    `management=URL`, prefixed so line-2 readers never mistake it for the REST URL."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    lines = [str(port)]
    if http_url is not None:
        lines.append(http_url)
    if management_url is not None:
        lines.append(f"management={management_url}")
    text = "".join(f"{line}\n" for line in lines)
    partial.write_text(text, encoding="ascii")
    os.replace(partial, path)


if __name__ == "__main__":
    raise SystemExit(main())
