"""Attune's playlist engine. Pure: numpy, scipy, scikit-learn (and TensorFlow, imported lazily
inside recommender.engine.gan only when a GAN is trained). Nothing here imports Django.

    from recommender.engine import CatalogIndex, PlaylistRequest, State, build_playlist
"""

from .core import build_playlist
from .index import CatalogIndex
from .quality import QualityReport, quality
from .types import (
    STRATEGIES,
    Constraints,
    EngineError,
    ListenerProfile,
    Playlist,
    PlaylistRequest,
    State,
    Step,
)

__all__ = [
    "STRATEGIES",
    "CatalogIndex",
    "Constraints",
    "EngineError",
    "ListenerProfile",
    "Playlist",
    "PlaylistRequest",
    "QualityReport",
    "State",
    "Step",
    "build_playlist",
    "quality",
]
