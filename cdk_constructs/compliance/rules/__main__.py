"""Print RULES.md: ``python -m cdk_constructs.compliance.rules > RULES.md``."""

import sys

from cdk_constructs.compliance.rules import render_markdown

sys.stdout.write(render_markdown())
