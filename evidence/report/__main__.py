"""``python -m evidence.report REPORT_DIR``: re-render a report's pages and figures."""
import sys

from .writer import main

sys.exit(main())
