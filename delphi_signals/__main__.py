"""``python -m delphi_signals`` and the ``delphi-signals`` script: the command of :mod:`luigi_tasks.cli`.

The one library file allowed to import the Luigi layer, and only when run as a command. Luigi parses its
configuration files when it is imported, so they are checked here first: a malformed ``luigi.cfg`` is a message
naming the file and line (exit 2), not a traceback from inside ``import luigi``.
"""

import sys


def main(argv=None) -> int:
    from delphi_signals.errors import ConfigFileError
    from delphi_signals.preflight import check_luigi_config

    try:
        check_luigi_config()
    except ConfigFileError as exc:
        print(f"delphi-signals: {exc}", file=sys.stderr)
        return 2
    from luigi_tasks.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
