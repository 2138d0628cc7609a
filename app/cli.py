"""The `carnet` command line."""

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from app.config import get_settings
from app.db import get_engine, run_unit, session_scope

if TYPE_CHECKING:
    from app.auth.service import Actor


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
    from app.audit.service import command_line
    from app.auth.service import create_user

    password = sys.stdin.readline().rstrip("\r\n")
    with session_scope() as session:
        create_user(
            session,
            username=args.name,
            password=password,
            role=args.role,
            supplier_code=args.supplier,
            actor=command_line(),
        )
    print(f"user {args.name} created with role {args.role}")
    return 0


def _users_change(args: argparse.Namespace) -> int:
    """A change to a user that ends its sessions at once (role, deactivation, password, sign-out)."""
    from app.audit.service import COMMAND_LINE
    from app.auth import service

    command: str = args.users_command
    password = sys.stdin.readline().rstrip("\r\n") if command == "set-password" else ""
    with session_scope() as session:
        if command == "set-role":
            service.change_role(session, username=args.name, role=args.role, supplier_code=args.supplier)
        elif command in ("deactivate", "activate"):
            service.set_active(session, username=args.name, active=command == "activate")
        elif command == "set-password":
            service.set_password(session, username=args.name, password=password)
        else:
            service.end_sessions(session, user_id=service.user_id(session, username=args.name))
        details = {"role": args.role} if command == "set-role" else {}
        service.record_user_change(session, actor=COMMAND_LINE, username=args.name, change=command, **details)
    print(f"user {args.name}: {command} done; its sessions have ended")
    return 0


def _users_unlock(args: argparse.Namespace) -> int:
    from app.auth.throttle import lift_locks

    if not args.name and not args.address:
        print("error: name a user or give --address", file=sys.stderr)
        return 2
    with session_scope() as session:
        cleared = lift_locks(session, username=args.name, address=args.address)
    print(f"{cleared} counter(s) of failed attempts cleared")
    return 0


def _supplier_contact(args: argparse.Namespace) -> int:
    from app.audit.service import command_line
    from app.suppliers.mailing import add_contact

    with session_scope() as session:
        add_contact(session, supplier_code=args.code, email=args.email, actor=command_line())
    print(f"{args.email} receives the report of supplier {args.code}")
    return 0


def _import_master_data(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.audit.service import command_line
    from app.catalog.importing import import_file
    from app.catalog.reading import ImportRefused, parse_as_of

    try:
        as_of = parse_as_of(args.as_of) if args.as_of else None
    except ValueError:
        print(
            f"error: --as-of {args.as_of!r}: expected 2026-11-20T06:00[+01:00] or 20/11/2026 06:00",
            file=sys.stderr,
        )
        return 2
    try:
        result = run_unit(
            lambda session: import_file(
                session,
                kind=args.kind,
                path=Path(args.file),
                as_of=as_of,
                show_progress=sys.stderr.isatty(),
                actor=command_line(),
            )
        )
    except ImportRefused as exc:
        print(f"error: {exc.detail}\nnothing imported", file=sys.stderr)
        return 2
    for line in [*result.notes, *result.report_lines]:
        print(line)
    print(
        f"{args.kind}: {result.rows_accepted} rows imported ({result.created} created, {result.updated} "
        f"updated), {result.rows_rejected} rejected; snapshot as of {result.as_of:%Y-%m-%d %H:%M} UTC"
    )
    return 1 if result.rows_rejected else 0


def _count(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 999_999:
        raise argparse.ArgumentTypeError("expected a count from 0 to 999999")
    return value


def _demo_data(args: argparse.Namespace) -> int:
    from app.demo import DEMO_LOGINS, database_has_customers, generate_demo_data

    environment = get_settings().environment
    if environment != "development":
        print(
            f"error: CARNET_ENVIRONMENT is {environment}: the demo data and the demo users, whose passwords "
            "are public, are for development only",
            file=sys.stderr,
        )
        return 2
    with session_scope() as session:
        if args.if_empty and database_has_customers(session):
            print("the database already has customers: no demo data loaded")
        else:
            sizes = {name: getattr(args, name) for name in ("customers", "products", "orders", "seed")}
            summary = generate_demo_data(session, **{k: v for k, v in sizes.items() if v is not None})
            print(
                f"demo data: {summary.customers} customers, {summary.products} products, "
                f"{summary.orders} orders"
            )
    print("demo logins (username / password):")
    for username, password in DEMO_LOGINS.items():
        print(f"  {username:<10} {password}")
    sys.stdout.flush()  # the warning after the logins, even when both go to one file
    print(
        "warning: the demo users' passwords are public (printed above and in the source): for development "
        "only, never on a machine others can reach",
        file=sys.stderr,
    )
    return 0


def _partners_create(args: argparse.Namespace) -> int:
    from app.audit.service import command_line
    from app.edi.partners import create_partner

    with session_scope() as session:
        partner, api_key = create_partner(
            session, name=args.name, customer_codes=args.customer, actor=command_line()
        )
    print(f"partner {partner.name} created for {len(args.customer)} customer(s)")
    print(f"API key (shown once, send it as X-API-Key): {api_key}")
    return 0


def _cli_admin() -> "Actor":
    from app.replay.commands import cli_actor

    return cli_actor()


def _partners_map_party(args: argparse.Namespace) -> int:
    from app.edi.schemas import PartyMappingIn
    from app.edi.service import map_party

    try:
        mapping = PartyMappingIn(
            party_id=args.party_id, customer_code=args.customer, shipping_address_code=args.address
        )
        with session_scope() as session:
            _, created = map_party(session, partner_name=args.partner, mapping=mapping, actor=_cli_admin())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    target = args.customer + (f" (address {args.address})" if args.address else "")
    print(f"party {args.party_id} of {args.partner} {'mapped' if created else 'remapped'} to {target}")
    return 0


def _partners_map_item(args: argparse.Namespace) -> int:
    from app.edi.schemas import ItemMappingIn
    from app.edi.service import map_item

    try:
        mapping = ItemMappingIn(item_id=args.item_id, product_code=args.product)
        with session_scope() as session:
            _, created = map_item(session, partner_name=args.partner, mapping=mapping, actor=_cli_admin())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"item {args.item_id} of {args.partner} {'mapped' if created else 'remapped'} to {args.product}")
    return 0


def _edi_reprocess(args: argparse.Namespace) -> int:
    """Process interchanges left `received` by a crash, each in its own unit of work."""
    from app.edi.ingestion import pending_interchanges, reprocess_interchange
    from app.errors import DomainError

    if args.ids:
        ids = args.ids
    else:
        with session_scope(write=False) as session:
            ids = pending_interchanges(session)
    failed = 0
    for interchange_id in ids:
        try:
            with session_scope() as session:
                answer = reprocess_interchange(session, interchange_id=interchange_id, actor=_cli_admin())
        except DomainError as exc:
            print(f"interchange {interchange_id}: {exc.detail}", file=sys.stderr)
            failed += 1
            continue
        body = answer.body
        print(f"interchange {interchange_id}: {body['status']}, {len(body['orders'])} order(s)")
    print(f"{len(ids) - failed} interchange(s) processed, {failed} refused")
    return 1 if failed else 0


def _export(args: argparse.Namespace) -> int:
    from app.backup import export_json

    with open(args.file, "wb") as target:
        counts = export_json(get_engine(), target)
    print(
        f"exported {sum(counts.values())} rows of {len(counts)} tables to {args.file} "
        "(without passwords, API keys nor status links)"
    )
    return 0


def _backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.backup import BackupError, backup

    try:
        backup(get_engine(), Path(args.file))
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"database backed up to {args.file}")
    return 0


def _audit_verify(_args: argparse.Namespace) -> int:
    from app.audit.service import verify

    with session_scope(write=False) as session:
        verdict = verify(session)
    for found in verdict.breaks:
        print(f"record {found.record_id}: {found.reason}", file=sys.stderr)
    if not verdict.intact:
        print(f"audit trail NOT intact: {len(verdict.breaks)} problem(s) in {verdict.checked} records")
        return 1
    print(
        f"audit trail intact: {verdict.checked} records, the last is {verdict.last_id} ({verdict.last_hash})"
    )
    return 0


def _audit_export(args: argparse.Namespace) -> int:
    from app.audit.service import export_csv, export_json, head

    as_csv = args.file.lower().endswith(".csv")
    with session_scope(write=False) as session, open(args.file, "w", encoding="utf-8", newline="") as target:
        top = head(session)
        for chunk in export_csv(session) if as_csv else export_json(session):
            target.write(chunk)
    print(f"exported {top.last_id} audit records to {args.file}; the last one's hash: {top.last_hash}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.backup import BackupError, restore

    try:
        restored = restore(get_engine(), Path(args.file), force=args.force)
    except BackupError as exc:
        print(f"error: {exc}\nnothing restored", file=sys.stderr)
        return 2
    print(f"database restored from {args.file} (made at migration {restored.backup_revision})")
    if restored.revision != restored.backup_revision:
        print(f"migrated to {restored.revision}")
    return 0


def _mail_poll(args: argparse.Namespace) -> int:
    from app.db import run_unit
    from app.email.polling import Mailbox, poll

    url = args.url or get_settings().imap_url
    if not url:
        print("error: no mailbox: set CARNET_IMAP_URL or give --url", file=sys.stderr)
        return 2
    try:
        mailbox = Mailbox.from_url(url)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = poll(mailbox, run_unit)
    print(
        f"{mailbox.folder}: {result.seen} message(s) taken, {result.new_items} new inbox item(s), "
        f"{result.known} known"
    )
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
    create.add_argument("--role", required=True, choices=["rep", "warehouse", "finance", "admin", "supplier"])
    create.add_argument("--supplier", help="the supplier code of a user with the role supplier")
    create.set_defaults(handler=_users_create)
    set_role = users.add_parser("set-role", help="give a user another role (its sessions end)")
    set_role.add_argument("name")
    set_role.add_argument("role", choices=["rep", "warehouse", "finance", "admin", "supplier"])
    set_role.add_argument("--supplier", help="the supplier code, for the role supplier")
    set_role.set_defaults(handler=_users_change)
    for name, text in (
        ("deactivate", "refuse a user's sign-ins and end its sessions"),
        ("activate", "let a deactivated user sign in again"),
        ("set-password", "a new password, read from stdin (the user's sessions end, its locks lift)"),
        ("sign-out", "end every session and token of a user"),
    ):
        change = users.add_parser(name, help=text)
        change.add_argument("name")
        change.set_defaults(handler=_users_change)
    unlock = users.add_parser(
        "unlock", help="forget the failed sign-ins counted against a user or an address"
    )
    unlock.add_argument("name", nargs="?")
    unlock.add_argument("--address", help="a client address (its failed sign-ins and unknown API keys)")
    unlock.set_defaults(handler=_users_unlock)

    suppliers = commands.add_parser("suppliers", help="suppliers' contacts").add_subparsers(
        dest="suppliers_command", required=True
    )
    contact = suppliers.add_parser(
        "add-contact", help="email the supplier's report to this address, daily during an incident"
    )
    contact.add_argument("code")
    contact.add_argument("email")
    contact.set_defaults(handler=_supplier_contact)

    imports = commands.add_parser(
        "import",
        help="import a master-data snapshot (CSV or JSON, by extension)",
        description="Upsert customers, products or stock levels by code from the ERP's export. "
        "Exit status: 0 all rows imported, 1 some rows rejected (see the report), "
        "2 file refused, nothing imported.",
    )
    imports.add_argument("kind", choices=["customers", "products", "stock"])
    imports.add_argument("file")
    imports.add_argument(
        "--as-of",
        metavar="WHEN",
        help="when the ERP exported it: ISO 8601 or dd/mm/yyyy hh:mm (default: now)",
    )
    imports.set_defaults(handler=_import_master_data)

    demo = commands.add_parser("demo-data", help="load the demo data set and create the demo users")
    demo.add_argument("--customers", type=_count, help="default 300")
    demo.add_argument("--products", type=_count, help="default 3000")
    demo.add_argument("--orders", type=_count, help="default 200")
    demo.add_argument("--seed", type=int, help="another seed, another (still deterministic) data set")
    demo.add_argument("--if-empty", action="store_true", help="do nothing when the database has customers")
    demo.set_defaults(handler=_demo_data)
    partners = commands.add_parser("partners", help="EDI partners and API clients").add_subparsers(
        dest="partners_command", required=True
    )
    partner = partners.add_parser("create", help="create a partner and print its API key once")
    partner.add_argument("name")
    partner.add_argument("--customer", action="extend", nargs="+", required=True, metavar="CODE")
    partner.set_defaults(handler=_partners_create)
    map_party = partners.add_parser("map-party", help="map a partner's party id (GLN...) to a customer")
    map_party.add_argument("partner")
    map_party.add_argument("party_id")
    map_party.add_argument("--customer", required=True, metavar="CODE")
    map_party.add_argument("--address", metavar="CODE", help="one of the customer's shipping addresses")
    map_party.set_defaults(handler=_partners_map_party)
    map_item = partners.add_parser("map-item", help="map a partner's article number to a product")
    map_item.add_argument("partner")
    map_item.add_argument("item_id")
    map_item.add_argument("--product", required=True, metavar="CODE")
    map_item.set_defaults(handler=_partners_map_item)

    edi = commands.add_parser("edi", help="EDI interchanges").add_subparsers(
        dest="edi_command", required=True
    )
    reprocess = edi.add_parser(
        "reprocess", help="process interchanges a crash left stored but unprocessed (default: all of them)"
    )
    reprocess.add_argument("ids", nargs="*", type=int, metavar="ID")
    reprocess.set_defaults(handler=_edi_reprocess)

    export = commands.add_parser(
        "export", help="write every table as JSON, without credentials (the copy for a USB stick)"
    )
    export.add_argument("file")
    export.set_defaults(handler=_export)
    backup = commands.add_parser("backup", help="a consistent copy of the database (SQLite file or pg_dump)")
    backup.add_argument("file")
    backup.set_defaults(handler=_backup)
    restore = commands.add_parser(
        "restore",
        help="put a backup back into the database (stop the service first)",
        description="Restore a file made by `carnet backup` into CARNET_DATABASE_URL, then migrate it "
        "when it was made by an older version. Refused when the database holds data, unless --force. "
        "Exit status: 0 restored, 2 refused, nothing changed.",
    )
    restore.add_argument("file")
    restore.add_argument("--force", action="store_true", help="replace the data the database holds")
    restore.set_defaults(handler=_restore)

    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(
        dest="audit_command", required=True
    )
    audit.add_parser(
        "verify",
        help="check the audit trail's hash chain",
        description="Recompute every record's hash and link. Exit status: 0 intact, 1 a record was edited, "
        "deleted or reordered (each named on stderr).",
    ).set_defaults(handler=_audit_verify)
    audit_export = audit.add_parser(
        "export",
        help="write the whole audit trail with its hashes, for an auditor (CSV or JSON, by extension)",
    )
    audit_export.add_argument("file")
    audit_export.set_defaults(handler=_audit_export)

    mail = commands.add_parser("mail", help="orders by email").add_subparsers(
        dest="mail_command", required=True
    )
    mail_poll = mail.add_parser("poll", help="take the mailbox's new messages into the inbox, once")
    mail_poll.add_argument("--url", help="imaps://user:password@host/folder (default: CARNET_IMAP_URL)")
    mail_poll.set_defaults(handler=_mail_poll)

    from app.replay.commands import add_commands as add_replay_commands

    add_replay_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from pydantic import ValidationError

    from app.errors import DomainError

    args = build_parser().parse_args(argv)
    try:
        get_settings()
    except ValidationError as exc:  # e.g. production without its secret: say so, without a traceback
        for error in exc.errors():
            print(f"error: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except DomainError as exc:  # refused by the domain: say why and where, without a traceback
        print(f"error: {exc.detail}", file=sys.stderr)
        for problem in exc.errors:
            if problem.msg != exc.detail:
                print(f"  {'.'.join(str(part) for part in problem.loc)}: {problem.msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
