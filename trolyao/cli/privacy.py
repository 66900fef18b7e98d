"""`trolyao privacy export|delete|purge`: a citizen's right to see and delete their data, and
the retention purge for cron (trolyao/staff/privacy.py does the work and the audit log)."""
from __future__ import annotations

import getpass
import json
import sys

from trolyao.cli.common import error
from trolyao.core import runtime
from trolyao.staff.privacy import privacy_for_settings


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (a container without /etc/passwd entry)
        return "cli"


def _dump(data: dict, out) -> None:
    json.dump(data, out, ensure_ascii=False, indent=2, default=str)
    out.write("\n")


def _run(action):
    """One privacy action on the configured stores; a bad sender id is a one-line error."""
    with privacy_for_settings(runtime.settings()) as privacy:
        try:
            return action(privacy)
        except ValueError as exc:
            error(str(exc))
            return None


def cmd_export(args) -> int:
    data = _run(lambda privacy: privacy.export(args.sender, _actor()))
    if data is None:
        return 2
    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8") as out:
            _dump(data, out)
        print(f"wrote {len(data['events'])} events, {len(data['review_flags'])} review flags of "
              f"{data['conversation_id']} to {args.output}", file=sys.stderr)
    else:
        _dump(data, sys.stdout)
    return 0


def cmd_delete(args) -> int:
    result = _run(lambda privacy: privacy.delete(args.sender, _actor()))
    if result is None:
        return 2
    _dump(result, sys.stdout)
    return 0


def cmd_purge(args) -> int:
    settings = runtime.settings()
    with privacy_for_settings(settings) as privacy:
        try:
            result = privacy.purge(_actor(), days=args.days)
        except ValueError as exc:
            error(str(exc))
            return 2
    _dump(result, sys.stdout)
    return 0


def add_parsers(sub, settings) -> None:
    p = sub.add_parser("privacy", help="export or delete one conversation's data; retention purge",
                       description="Personal data (Nghị định 13/2023/NĐ-CP): everything stored about "
                                   "one conversation as JSON, its deletion, and the purge of data older "
                                   "than TROLYAO_RETENTION_DAYS. Every action is written to the audit log.")
    commands = p.add_subparsers(dest="privacy_command", required=True, metavar="ACTION")

    e = commands.add_parser("export", help="everything stored about one conversation, as JSON")
    e.add_argument("--sender", required=True,
                   help="the sender id as the channel gave it (web-…, a Zalo id) or the stored id (u-…)")
    e.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    e.set_defaults(func=cmd_export)

    d = commands.add_parser("delete", help="delete everything stored about one conversation")
    d.add_argument("--sender", required=True,
                   help="the sender id as the channel gave it (web-…, a Zalo id) or the stored id (u-…)")
    d.set_defaults(func=cmd_delete)

    u = commands.add_parser("purge", help="delete conversations and review notes older than "
                                          "TROLYAO_RETENTION_DAYS (for cron; the server also does it daily)")
    u.add_argument("--days", type=int, default=None,
                   help=f"keep this many days instead (default {settings.retention_days})")
    u.set_defaults(func=cmd_purge)
