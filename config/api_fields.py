"""Serializer fields every API shares."""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers


class FiniteFloatField(serializers.FloatField):
    """A float that answers 400, not 500, for numbers too large for a float (huge JSON
    integers raise OverflowError in float()) and refuses NaN and infinity."""

    default_error_messages = {
        "overflow": "This number is too large.",
        "not_finite": "Must be a finite number, not NaN or infinity.",
    }

    def to_internal_value(self, data: Any) -> float:
        try:
            value = super().to_internal_value(data)
        except OverflowError:
            self.fail("overflow")
        if not math.isfinite(value):
            self.fail("not_finite")
        return float(value)
