"""``python -m delphi_signals``: the same command as ``delphi-signals`` (:mod:`luigi_tasks.cli`).

The one library file allowed to import the Luigi layer, and only when run as a command.
"""

import sys

if __name__ == "__main__":
    from luigi_tasks.cli import main

    sys.exit(main())
