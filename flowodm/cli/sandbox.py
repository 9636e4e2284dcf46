"""``flowodm sandbox start|stop|status|env|registry``: the local broker and registry.

Exit codes follow ``flowodm.cli.main``: 0 ok, 1 failed or not running, 2 usage error. Every
command it suggests carries ``--data-dir`` when a data directory other than the default is in
use, so that it can be pasted as it is.
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path
from typing import Any

from flowodm.cli.usage import EXIT_FAILED, EXIT_OK
from flowodm.exceptions import SandboxError

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``sandbox`` command and its sub-commands to the top-level parser."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local Kafka broker and Schema Registry (no Docker)",
        description="Run a local Kafka broker (Tansu) and FlowODM's Schema Registry in the "
        "background. Data is kept in memory: topics are lost when the broker stops.",
    )
    commands = parser.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")

    start = commands.add_parser("start", help="start the sandbox (or show the running one)")
    _add_data_dir(start)
    start.add_argument(
        "--broker-port",
        type=_port,
        default=None,
        help="Kafka port on 127.0.0.1 (default 9092, or a free port if taken; 0: any free port)",
    )
    start.add_argument(
        "--registry-port",
        type=_port,
        default=None,
        help="Schema Registry port (default 8081, or a free port if taken; 0: any free port)",
    )
    start.set_defaults(handler=_start)

    stop = commands.add_parser("stop", help="stop the sandbox's broker and registry")
    _add_data_dir(stop)
    stop.set_defaults(handler=_stop)

    status = commands.add_parser("status", help="show the sandbox (exit code 1 if not running)")
    _add_data_dir(status)
    status.set_defaults(handler=_status)

    env = commands.add_parser("env", help='print shell exports; use: eval "$(flowodm sandbox env)"')
    _add_data_dir(env)
    env.set_defaults(handler=_env)

    _add_registry_parser(commands)


def _add_registry_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """``flowodm sandbox registry …`` runs the registry server in the foreground.

    Every argument after ``registry`` goes unchanged to the registry's own command line
    (``python -m flowodm.sandbox.registry``), which parses and documents them (``--help``);
    an unused prefix character keeps this parser from interpreting them itself.
    """
    registry = commands.add_parser(
        "registry",
        help="run only the Schema Registry, in the foreground (--help for its options)",
        add_help=False,
        prefix_chars="\0",
    )
    registry.add_argument("registry_args", nargs="*", metavar="ARG")
    registry.set_defaults(handler=_registry)


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=None,
        help="state, logs and schemas (default $FLOWODM_SANDBOX_DIR, else "
        "$XDG_STATE_HOME/flowodm/sandbox or ~/.local/state/flowodm/sandbox)",
    )


def _port(text: str) -> int:
    """Parse a port option (argparse turns the error into a usage message, exit code 2)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def _command(action: str, data_dir: Path) -> str:
    """Return ``flowodm sandbox ACTION`` as a user should type it for the sandbox in ``data_dir``.

    ``--data-dir`` is added unless ``data_dir`` is the default one (which already takes
    ``$FLOWODM_SANDBOX_DIR`` into account), so the hint works when pasted into the same shell.
    """
    from flowodm.sandbox.state import resolve_data_dir

    command = f"flowodm sandbox {action}"
    if data_dir != resolve_data_dir(None):
        command += f" --data-dir {shlex.quote(str(data_dir))}"
    return command


def _start(args: argparse.Namespace) -> int:
    """Start (or find) the sandbox and describe it."""
    from flowodm.sandbox import start

    began = time.perf_counter()
    sandbox = start(
        broker_port=args.broker_port, registry_port=args.registry_port, data_dir=args.data_dir
    )
    elapsed = time.perf_counter() - began
    print(sandbox.describe())
    env = _command("env", sandbox.data_dir)
    print(f'  ready in {elapsed:.1f} s; point clients at it with: eval "$({env})"')
    print(f"  stop it with: {_command('stop', sandbox.data_dir)}")
    return EXIT_OK


def _stop(args: argparse.Namespace) -> int:
    """Stop the sandbox; not running is not an error."""
    from flowodm.sandbox import stop
    from flowodm.sandbox.state import resolve_data_dir

    path = resolve_data_dir(args.data_dir)
    if stop(path):
        print(f"FlowODM sandbox stopped (data dir {path})")
    else:
        print(f"no FlowODM sandbox was running (data dir {path})")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    """Describe the sandbox, or say what is wrong and exit with 1."""
    from flowodm.sandbox import health

    report = health(args.data_dir)
    if report.sandbox is not None:
        print(report.sandbox.describe())
        print(f'  point clients at it with: eval "$({_command("env", report.data_dir)})"')
        return EXIT_OK
    print(f"FlowODM sandbox not running (data dir {report.data_dir})")
    for problem in report.problems:
        print(f"  {problem}")
    print(f"  start it with: {_command('start', report.data_dir)}")
    return EXIT_FAILED


def _env(args: argparse.Namespace) -> int:
    """Print shell exports for the running sandbox (nothing on stdout if it does not run)."""
    from flowodm.sandbox import health

    report = health(args.data_dir)
    if report.sandbox is None:
        raise SandboxError(
            f"no FlowODM sandbox is running (data dir {report.data_dir}): "
            f"{'; '.join(report.problems)}; start it with: {_command('start', report.data_dir)}"
        )
    for name, value in report.sandbox.env().items():
        print(f"export {name}={shlex.quote(value)}")
    return EXIT_OK


def _registry(args: argparse.Namespace) -> int:
    """Run the registry in the foreground with the remaining arguments."""
    from flowodm.sandbox.registry import main

    return main(args.registry_args, prog="flowodm sandbox registry")
