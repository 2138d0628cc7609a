"""The `carnet` command line."""

import argparse
import sys
from collections.abc import Callable, Sequence

from app.config import get_settings
from app.db import get_engine, session_scope


def _db_upgrade(_args: argparse.Namespace) -> int:
    from app.migrate import upgrade

    upgrade(get_engine())
    print("database at the latest migration")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from app.server import serve

    settings = get_settings()
    serve(
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
    )
    return 0


def _users_create(args: argparse.Namespace) -> int:
    from app.auth.service import create_user
    from app.errors import DomainError

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with session_scope() as session:
            create_user(session, username=args.name, password=password, role=args.role)
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    print(f"user {args.name} created with role {args.role}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carnet", description="Degraded-mode order capture")
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="migrate the database to the latest schema").set_defaults(
        handler=_db_upgrade
    )

    serve = commands.add_parser("serve", help="serve the API and web desk")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(handler=_serve)

    users = commands.add_parser("users", help="people who sign in").add_subparsers(
        dest="users_command", required=True
    )
    create = users.add_parser("create", help="create a user; the password is read from stdin")
    create.add_argument("name")
    create.add_argument("--role", required=True, choices=["rep", "warehouse", "finance", "admin"])
    create.set_defaults(handler=_users_create)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
