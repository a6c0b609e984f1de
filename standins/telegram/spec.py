"""The Bot API spec (api.json) and the structural checks every call goes through.

Values arrive either as form strings (aiogram sends form-data: plain strings for String fields, JSON text
for everything else) or as native JSON values (a JSON body); both are coerced to native Python values here.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from standins.telegram.errors import ApiError, bad_request

BUNDLED_SPEC = Path(__file__).resolve().parent.parent / "telegram_spec" / "api.json"
SHARED_SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "telegram-bot-api" / "api.json"
_INT = re.compile(r"^-?\d+$")
_CONST = re.compile(r'(?:always "([a-z_]+)"|must be ([a-z_]+)\b)')
_ARRAY = "Array of "
# Fields dropped from the docs that Telegram still accepts (aiogram still offers them), keyed by the
# documented field that replaced them: a method with the new field also takes the old one.
LEGACY_FIELDS = {
    "reply_parameters": [
        {"name": "reply_to_message_id", "types": ["Integer"], "required": False},
        {"name": "allow_sending_without_reply", "types": ["Boolean"], "required": False},
    ],
    "link_preview_options": [{"name": "disable_web_page_preview", "types": ["Boolean"], "required": False}],
}


@dataclass(frozen=True)
class Upload:
    """A file sent as a multipart part: the bytes and filename are kept so tests can read them."""

    field: str
    filename: str
    content_type: str
    data: bytes


def default_spec_path() -> Path:
    """The shared official copy when it exists (../shared from the repo root), else the bundled one."""
    return SHARED_SPEC if SHARED_SPEC.exists() else BUNDLED_SPEC


class Spec:
    """Method and type tables from api.json plus the recursive type checker."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.version = str(data.get("version", ""))
        self.methods = {name.lower(): m for name, m in data["methods"].items()}
        self.types: dict[str, dict[str, Any]] = data["types"]

    @classmethod
    def load(cls, path: Path | str | None = None) -> Spec:
        """Parsed once per path and process (the file is 600 KB; specs are never mutated)."""
        return _load(str(path or default_spec_path()))

    def method(self, name: str) -> dict[str, Any] | None:
        return self.methods.get(name.lower())

    def validate_call(
        self, method: dict[str, Any], params: dict[str, Any], uploads: dict[str, Upload]
    ) -> dict[str, Any]:
        """Unknown/missing fields and types for one call; returns the params as native values."""
        fields = {f["name"]: f for f in method.get("fields", [])}
        for name in [n for n in fields if n in LEGACY_FIELDS]:
            fields.update({f["name"]: f for f in LEGACY_FIELDS[name]})
        for key in params:
            if key not in fields:
                raise bad_request(f'unknown parameter "{key}" in method {method["name"]}')
        for name, field in fields.items():
            if field["required"] and name not in params:
                raise bad_request(_missing(name))
        checker = _Checker(self, uploads)
        return {key: checker.check(fields[key]["types"], value, key) for key, value in params.items()}


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Spec:
    with open(path, encoding="utf-8") as fh:
        return Spec(json.load(fh))


def _missing(name: str) -> str:
    # Telegram's own wording for the two fields every send call has.
    if name == "text":
        return "message text is empty"
    return f"{name} is empty" if name.endswith("_id") else f'parameter "{name}" is required'


class _Checker:
    """Coerces one value against a list of alternative spec types ("Integer or String" → two)."""

    def __init__(self, spec: Spec, uploads: dict[str, Upload]) -> None:
        self.spec = spec
        self.uploads = uploads

    def check(self, types: list[str], value: Any, path: str) -> Any:
        failures: dict[str, ApiError] = {}
        for type_name in types:
            try:
                return self.one(type_name, value, path)
            except ApiError as exc:
                failures[type_name] = exc
        if len(types) == 1:
            raise failures[types[0]]
        raise self.best_error(failures, value, path)

    def best_error(self, failures: dict[str, ApiError], value: Any, path: str) -> ApiError:
        """For object unions (reply_markup) report the alternative the object's keys point at."""
        objects = all(t in self.spec.types for t in failures)
        decoded = _decode_json(value, path) if objects and _is_top_level(path) else value
        if isinstance(decoded, dict):
            fitting = [t for t in failures if set(decoded) <= _field_names(self.spec.types[t])]
            if len(fitting) == 1:
                return failures[fitting[0]]
        return bad_request(f'field "{path}" must be of type {" or ".join(failures)}')

    def one(self, type_name: str, value: Any, path: str) -> Any:
        if type_name == "String" and isinstance(value, str) and value[9:] in self.uploads:
            if value.startswith("attach://"):  # InputMedia*.media: "attach://<part>" names an uploaded part
                return self.uploads[value[9:]]
        scalar = _SCALARS.get(type_name)
        if scalar is not None:
            return scalar(value, path)
        if type_name == "InputFile":
            return self.input_file(value, path)
        if _is_top_level(path):  # only whole form fields carry JSON text; nested strings are just strings
            value = _decode_json(value, path)
        if type_name.startswith(_ARRAY):
            return self.array(type_name[len(_ARRAY) :], value, path)
        return self.obj(type_name, value, path)

    def input_file(self, value: Any, path: str) -> Upload:
        if isinstance(value, Upload):
            return value
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in self.uploads:
            return self.uploads[value[9:]]
        raise bad_request(f'field "{path}" must be of type InputFile')

    def array(self, item_type: str, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise bad_request(f'field "{path}" must be an Array')
        return [self.check([item_type], item, f"{path}[{i}]") for i, item in enumerate(value)]

    def obj(self, type_name: str, value: Any, path: str) -> dict[str, Any]:
        spec_type = self.spec.types.get(type_name)
        if spec_type is None:
            raise bad_request(f'unknown type {type_name} for "{path}"')
        if "subtypes" in spec_type:
            return self.union(spec_type["subtypes"], value, path)
        if not isinstance(value, dict):
            raise bad_request(f'field "{path}" must be a JSON object ({type_name})')
        fields = {f["name"]: f for f in spec_type.get("fields", [])}
        for key in value:
            if key not in fields:
                raise bad_request(f'unknown field "{path}.{key}" in {type_name}')
        for name, field in fields.items():
            if field["required"] and name not in value:
                raise bad_request(f'field "{path}.{name}" is required in {type_name}')
        return {k: self.check(fields[k]["types"], v, f"{path}.{k}") for k, v in value.items()}

    def union(self, subtypes: list[str], value: Any, path: str) -> dict[str, Any]:
        """Abstract types (BotCommandScope, ReactionType, ...) are told apart by their constant type field."""
        if not isinstance(value, dict):
            raise bad_request(f"can't parse JSON object in \"{path}\"")
        last: ApiError = bad_request(f'unsupported object in "{path}"')
        for sub in subtypes:
            const = _constant_of(self.spec.types.get(sub, {}))
            if const is not None and value.get(const[0]) != const[1]:
                continue
            try:
                return self.obj(sub, value, path)
            except ApiError as exc:
                last = exc
        raise last


def _field_names(spec_type: dict[str, Any]) -> set[str]:
    return {f["name"] for f in spec_type.get("fields", [])}


def _constant_of(spec_type: dict[str, Any]) -> tuple[str, str] | None:
    for field in spec_type.get("fields", []):
        if field["name"] in ("type", "source", "status"):
            match = _CONST.search(field.get("description", ""))
            if match:
                return field["name"], match.group(1) or match.group(2)
    return None


def _is_top_level(path: str) -> bool:
    return "." not in path and "[" not in path


def _decode_json(value: Any, path: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise bad_request(f'can\'t parse JSON in field "{path}"') from None


def _integer(value: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INT.match(value.strip()):
        return int(value)
    raise bad_request(f'field "{path}" must be of type Integer')


def _float(value: Any, path: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise bad_request(f'field "{path}" must be of type Float')


def _boolean(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise bad_request(f'field "{path}" must be of type Boolean')


def _string(value: Any, path: str) -> str:
    if isinstance(value, str):
        return value
    # Telegram converts numbers sent as JSON into strings; objects, arrays and booleans are errors.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise bad_request(f'field "{path}" must be of type String')


_SCALARS = {"Integer": _integer, "Float": _float, "Boolean": _boolean, "String": _string}
