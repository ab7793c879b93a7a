"""OpenAPI schema generation for Attune's API style.

Our APIs nest `InputSerializer` / `OutputSerializer` inside each API class (STYLE.md), so
drf-spectacular's default component names ("Input", "Output") would collide across APIs.
Here a nested serializer is named after its API class: `SessionCompleteApi.InputSerializer`
becomes the component `SessionCompleteInput`.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema


class AttuneAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer, direction):
        cls = serializer if isinstance(serializer, type) else type(serializer)
        outer, _, inner = cls.__qualname__.rpartition(".")
        if outer and "<locals>" not in outer:
            owner = outer.split(".")[-1].removesuffix("Api").removesuffix("View")
            return owner + inner
        return super().get_serializer_name(serializer, direction)
