"""Every Governance rule's verdict on every resource of a cloud assembly, one line each.

Usage: ``.venv/bin/python bench/governance_verdicts.py CDK_OUT > verdicts.txt``, with the
working directory the checkout whose rules should judge. Run it from two checkouts on the same
assembly and ``diff`` the outputs to show that a change of the pack changes no verdict (not
only no finding). Also prints the CPU seconds of one ``check_assembly`` to standard error.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def main() -> None:
    root = Path.cwd()
    sys.path[:0] = [str(root), str(root / "lambda")]
    from cdk_constructs.compliance.governance_pack import GovernanceChecks
    from cdk_constructs.compliance.rules.framework import AppIndex
    from cdk_constructs.compliance.templates import load_resources, read_assembly

    directory = Path(sys.argv[1])
    pack = GovernanceChecks()
    start = time.process_time()
    pack.check_assembly(directory)
    print(f"check_assembly: {time.process_time() - start:.2f} CPU s", file=sys.stderr)

    stacks = read_assembly(directory)
    loaded = load_resources(stacks)
    index = AppIndex(loaded.resources, loaded.stack_metadata, stacks)
    lines = []
    for resource in loaded.resources:
        for rule in pack._rules_by_type.get(resource.type, ()):
            try:
                verdict = rule.check(resource, index).name
            except Exception as error:  # a broken rule is a verdict too
                verdict = f"error {type(error).__name__}"
            lines.append(f"{rule.finding_id}\t{resource.path}\t{verdict}")
    sys.stdout.write("\n".join(sorted(lines)) + "\n")
    print(f"{len(lines)} verdicts", file=sys.stderr)
    sys.stdout.flush()
    os._exit(0)  # no jsii runtime to stop


if __name__ == "__main__":
    main()
