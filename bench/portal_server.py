"""The portal's web server alone, for the page-latency benchmark: ``python -m
bench.portal_server DATABASE PORT`` serves the index at DATABASE (read only, no indexer) on
127.0.0.1:PORT, in a process of its own so the readers' Python does not share its GIL."""

from __future__ import annotations

import sys

import uvicorn

from procurechain.portal.index.database import Index
from procurechain.portal.web.app import create_app


def main() -> None:
    database, port = sys.argv[1], int(sys.argv[2])
    index = Index.open(database)
    uvicorn.run(create_app(index.engine), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
