"""``python -m galexplore`` runs the command line."""

import sys

from galexplore.cli import main

if __name__ == "__main__":
    sys.exit(main())
