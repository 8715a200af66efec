"""`python -m ghostline`.

`-m` puts the working folder first on `sys.path`, and editors start the server in the
workspace: a workspace `typing.py` or `json.py` would then be imported (run) instead of the
standard library's. The entry is dropped before anything else is imported.
"""

import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from ghostline.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
