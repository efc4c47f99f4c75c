"""``python -m demo_site [--all] [--port P | --port-base P]``: serve the demo site(s) in the foreground."""

from __future__ import annotations

import sys

from demo_site.world import main

sys.exit(main())
