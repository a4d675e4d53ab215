"""`/openapi.json`: the project's own description of the Rev.io surface (`openapi.yaml`)."""

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter

router = APIRouter()
DOCUMENT = Path(__file__).with_name("openapi.yaml")


@cache
def revio_openapi() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return document


@router.get("/openapi.json", include_in_schema=False)
async def openapi_document() -> dict[str, Any]:
    return revio_openapi()
