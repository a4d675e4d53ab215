"""Simulator of the Rev.io billing REST API v1 (see `../shared/specs/revio-api-notes.md`)."""

from services.sandbox.revio.app import create_app

__all__ = ["create_app"]
