"""The citizens' portal on the web: read-only pages, downloads and an OCDS-style JSON API over
the index (:mod:`procurechain.portal.index`). :func:`create_app` makes the ASGI app that
``ape run portal`` serves with uvicorn."""

from procurechain.portal.web.app import create_app

__all__ = ["create_app"]
