"""Command line: ``python -m governance verify-ledger --table T --group G [--region R]``.

Reads the group's ledger records from DynamoDB (ascending ``seq``, all pages) and verifies the
hash chain. Exit status 0 when intact, 1 naming the first broken link, 2 for usage errors
(argparse) and 3 when the table cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from governance.aws_clients import AwsClient, ClientError, client
from governance.ledger import read_chain, verify_chain

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
    dynamodb = dynamodb_client or client("dynamodb", region_name=args.region)
    try:
        result = verify_chain(read_chain(dynamodb, args.table, args.group))
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
