"""The construct library.

Constructs share names and limits with the Lambda handlers through the handlers' contract
module, ``governance.contracts`` in the asset root ``lambda/``: one definition serves both the
app and the function code it ships. ``lambda`` is a keyword, so the asset root cannot be a
package; it is put on the import path here, which every entry point that builds constructs
(``app.py`` under ``cdk synth``, scripts, tests) passes through.
"""

import sys
from pathlib import Path

_ASSET_ROOT = str(Path(__file__).resolve().parents[1] / "lambda")
if _ASSET_ROOT not in sys.path:
    sys.path.append(_ASSET_ROOT)
