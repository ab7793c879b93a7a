"""OpenAPI schema generation for Attune's API style.

Our APIs nest `InputSerializer` / `OutputSerializer` inside each API class (STYLE.md), so
drf-spectacular's default component names ("Input", "Output") would collide across APIs.
Here a nested serializer is named after its API class: `SessionCompleteApi.InputSerializer`
becomes the component `SessionCompleteInput`.

Every operation also documents the error answers the API gives everywhere (the schemathesis
suite, tests/security/test_schemathesis.py, holds every response to the schema):

| status | when |
| --- | --- |
| 400 | malformed input: `{"field": ["message"], ...}` or `{"detail": "..."}` (operations that take input) |
| 403 | not logged in, or not allowed (`{"detail": "..."}`) |
| 404 | the object in the path does not exist or is someone else's (operations with path parameters) |
| 413 | the body is over the size limit (`{"detail": "..."}`, every write) |
| 429 | too many requests (throttled operations) |
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema

ERROR_SCHEMA = {
    "type": "object",
    "description": 'Why the request failed: {"detail": message} or field name -> list of messages.',
    "additionalProperties": True,
}
ERRORS = {
    "400": "Malformed input; nothing was stored.",
    "403": "Not logged in, or not allowed.",
    "404": "No such object (or it is someone else's).",
    "413": "The request body is over the size limit.",
    "429": "Too many requests; try again later.",
}


class AttuneAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer, direction):
        cls = serializer if isinstance(serializer, type) else type(serializer)
        outer, _, inner = cls.__qualname__.rpartition(".")
        if outer and "<locals>" not in outer:
            owner = outer.split(".")[-1].removesuffix("Api").removesuffix("View")
            return owner + inner
        return super().get_serializer_name(serializer, direction)

    def _error_codes(self) -> list[str]:
        codes = ["403"]
        writes = self.method in ("POST", "PUT", "PATCH")
        if writes or self.get_filter_backends() or self._has_query_input():
            codes.append("400")
        if "{" in self.path:
            codes.append("404")
        if writes:
            codes.append("413")
        if getattr(self.view, "throttle_classes", None):
            codes.append("429")
        return codes

    def _has_query_input(self) -> bool:
        return any(p.get("in") == "query" for p in self._get_parameters())

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        if direction != "response" or self.method == "OPTIONS":
            return responses
        for code in self._error_codes():
            responses.setdefault(
                code, {"description": ERRORS[code], "content": {"application/json": {"schema": ERROR_SCHEMA}}}
            )
        return responses
