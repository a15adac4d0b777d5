"""Servable entry point of the galexplore dashboard.

    panel serve app/explorer.py --args SURVEY RUN

``galexplore serve SURVEY RUN`` does the same with sensible defaults.
"""

import sys

from galexplore.dashboard.app import create_app

if len(sys.argv) != 3:
    raise SystemExit("usage: panel serve app/explorer.py --args SURVEY RUN")

create_app(sys.argv[1], sys.argv[2]).servable()
