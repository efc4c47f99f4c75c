"""``python -m demo_site --port P``: serve the demo site in the foreground."""

from __future__ import annotations

import sys

from demo_site.server import main

sys.exit(main())
