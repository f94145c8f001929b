"""Entry point for ``python3 -m rocket`` and for the zipapp."""

import sys

from rocket.cli import main

if __name__ == "__main__":
    sys.exit(main())
