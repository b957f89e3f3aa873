"""The ``voicer`` command (and ``python -m voicer``). Its modules take half a second to
import: Ctrl-C then is one line and exit code 130, as it is later, never a traceback."""

import sys


def main() -> None:
    """Entry point of the ``voicer`` command."""
    try:
        from voicer import cli
    except KeyboardInterrupt:
        sys.stderr.write("voicer: interrupted; no output was written\n")
        sys.exit(130)
    cli.main()


if __name__ == "__main__":
    main()
