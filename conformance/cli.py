"""`milvus-conformance`: run the shipped suite against a target, or list the clause catalogue.

`run` wraps `pytest.main` on the installed `conformance/suite` directory with the plugin's
`--milvus-*` options; the exit code is 0 iff no clause failed, errored or went stale.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

SUITE_DIR = Path(__file__).resolve().parent / "suite"
PROFILES = ("docs-2.1", "milvus-2.3", "milvus-2.6")
ROOT_PASSWORD_ENV = "MILVUS_CONFORMANCE_ROOT_PASSWORD"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milvus-conformance",
        description="Check a Milvus-compatible server against the authentication documentation.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the conformance suite against a target")
    run.add_argument(
        "--target",
        default="reference",
        help="reference (default) | grpc://HOST:PORT | milvus-lite | "
        "milvus-embedded | docker:IMAGE",
    )
    run.add_argument("--profile", choices=PROFILES, default="docs-2.1")
    run.add_argument("--root-user", default="root")
    run.add_argument(
        "--root-password",
        default=os.environ.get(ROOT_PASSWORD_ENV, "Milvus"),
        help=f"root password (default: ${ROOT_PASSWORD_ENV} or Milvus)",
    )
    run.add_argument("--expectations", metavar="FILE", help="YAML list of known deviations")
    run.add_argument(
        "--report",
        metavar="DIR",
        default="conformance-report",
        help="report directory (default: ./conformance-report)",
    )
    run.add_argument("--hypothesis-profile", choices=("ci", "thorough"), default="ci")
    run.add_argument("-k", dest="keyword", metavar="EXPR", help="pytest -k selection")
    run.add_argument(
        "--fresh",
        action="store_true",
        help="the grpc:// target is freshly installed (root password unchanged)",
    )
    run.add_argument("--management-url", metavar="URL", help="HTTP management endpoint")
    run.add_argument(
        "--rest",
        metavar="URL",
        help="REST API v2 base URL; enables the REST clauses (the reference target serves its own)",
    )
    run.add_argument(
        "pytest_args", nargs="*", help="extra pytest arguments after `--` (e.g. -- -x -v)"
    )
    run.set_defaults(handler=run_command)

    clauses = sub.add_parser("clauses", help="list the clause catalogue")
    clauses.set_defaults(handler=clauses_command)
    # Further subcommands (e.g. `selftest`) register here: one parser + one handler each.
    from conformance.selftest import add_parser as add_selftest_parser

    add_selftest_parser(sub)
    return parser


def pytest_arguments(args: argparse.Namespace, ini_file: Path) -> list[str]:
    argv = [
        str(SUITE_DIR),
        "-c", str(ini_file),  # hermetic: ignore whatever pytest config the cwd has
        "--rootdir", str(SUITE_DIR),
        "-p", "no:cacheprovider",  # never write .pytest_cache into the installed package
        "-p", "no:schemathesis",  # its plugin blanks Hypothesis's falsifying examples
        "--tb=short",
        "--milvus-target", args.target,
        "--milvus-profile", args.profile,
        "--milvus-root-user", args.root_user,
        "--milvus-root-password", args.root_password,
        "--milvus-report", str(Path(args.report).resolve()),
        "--milvus-hypothesis-profile", args.hypothesis_profile,
    ]  # fmt: skip
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        argv += ["-p", "conformance.plugin"]  # the pytest11 entry point is not loaded then
    if args.expectations:
        argv += ["--milvus-expectations", str(Path(args.expectations).resolve())]
    if args.keyword:
        argv += ["-k", args.keyword]
    if args.fresh:
        argv.append("--milvus-fresh")
    if args.management_url:
        argv += ["--milvus-management-url", args.management_url]
    if args.rest:
        argv += ["--milvus-rest-url", args.rest]
    return argv + list(args.pytest_args)


def run_command(args: argparse.Namespace) -> int:
    import pytest

    if not SUITE_DIR.is_dir():
        print(f"milvus-conformance: suite not found at {SUITE_DIR}", file=sys.stderr)
        return 4
    with tempfile.TemporaryDirectory(prefix="milvus-conformance-") as tmp:
        ini_file = Path(tmp) / "pytest.ini"
        ini_file.write_text("[pytest]\n", encoding="utf-8")
        return int(pytest.main(pytest_arguments(args, ini_file)))


def clauses_command(args: argparse.Namespace) -> int:
    from conformance.catalogue import load_catalogue

    clauses = load_catalogue()
    width = max(len(c) for c in clauses)
    for clause in clauses.values():
        head = f"{clause.id:<{width}}  {clause.kind:<8} §{clause.section}"
        print(head)
        print(textwrap.indent(textwrap.fill(" ".join(clause.must.split()), 96), "    "))
    print(f"{len(clauses)} clauses")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
