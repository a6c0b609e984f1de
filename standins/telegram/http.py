"""Reading Bot API requests the way Telegram does: query string, urlencoded/multipart form or JSON body."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web

from standins.telegram.errors import bad_request
from standins.telegram.spec import Upload

_ATTACH = re.compile(r"attach://([A-Za-z0-9_-]+)")


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Params (strings or native JSON values) and the uploaded file parts by part name."""
    params: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.content_type == "application/json":
        body = await _json_body(request)
        params.update({k: v for k, v in body.items() if v is not None})
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                uploads[key] = Upload(key, value.filename, value.content_type, value.file.read())
            else:
                params[key] = value
    return _place_uploads(params, uploads), uploads


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("can't parse JSON body") from None
    if not isinstance(body, dict):
        raise bad_request("JSON body must be an object")
    return body


def _place_uploads(params: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
    """A part referenced as attach://name stays an attachment; any other part is the field of that name."""
    referenced = {name for value in params.values() if isinstance(value, str) for name in _ATTACH.findall(value)}
    for key, upload in uploads.items():
        if key not in referenced:
            params[key] = upload
    return params


async def read_multipart_reply(reader: MultipartReader) -> tuple[dict[str, Any], dict[str, Upload]]:
    """aiogram answers a webhook with a method call as multipart form-data (method=..., fields...)."""
    params: dict[str, Any] = {}
    uploads: dict[str, Upload] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.filename:
            data = await part.read(decode=True)
            ctype = part.headers.get("Content-Type", "application/octet-stream")
            uploads[part.name] = Upload(part.name, part.filename, ctype, bytes(data))
        else:
            params[part.name] = await part.text()
    return _place_uploads(params, uploads), uploads


def json_reply(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Upload]]:
    return {k: v for k, v in payload.items() if v is not None}, {}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
