"""``python -m governance verify-ledger --table T --group G [--region R]``.

Verifies a group's hash chain (all pages, ascending ``seq``). Exit status 0 when intact, 1 naming
the first broken link, 2 for usage errors (argparse) and 3 when the table cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from governance.data_access.aws import AwsClient, ClientError, client
from governance.data_access.ledger_store import DynamoDbLedgerStore
from governance.logic.ledger import verify_chain

EXIT_INTACT = 0
EXIT_BROKEN = 1
EXIT_UNREADABLE = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m governance")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser(
        "verify-ledger", help="verify the hash chain of one model package group's audit ledger"
    )
    verify.add_argument("--table", required=True, help="ledger DynamoDB table name")
    verify.add_argument("--group", required=True, help="model package group name")
    verify.add_argument("--region", help="AWS region (default: from the environment)")
    return parser


def main(argv: Sequence[str] | None = None, dynamodb_client: AwsClient | None = None) -> int:
    args = build_parser().parse_args(argv)
    store = DynamoDbLedgerStore(
        dynamodb_client or client("dynamodb", region_name=args.region), args.table
    )
    try:
        result = verify_chain(store.chain(args.group))
    except ClientError as error:
        print(f"cannot read ledger table {args.table!r}: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    if result.intact:
        note = " (no records: is the group name right?)" if result.records_checked == 0 else ""
        print(f"{args.group}: {result}{note}")
        return EXIT_INTACT
    print(f"{args.group}: {result}", file=sys.stderr)
    return EXIT_BROKEN


if __name__ == "__main__":
    sys.exit(main())
