"""The demo catalog: music21 corpus clips analysed, cached and upserted as tracks."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from recommender import conf, demo
from recommender.models import Track
from recommender.services.imports import track_fields_from_descriptors
from recommender.services.labels import catalog_touch, prior_labels_fill

# --- demo catalog ------------------------------------------------------------------------


def demo_catalog_load(*, count: int | None = None, workers: int = 2, stdout=None) -> str:
    """Build (or reuse) the cached demo catalog and upsert its tracks; prior labels for new ones."""
    count = conf.DEMO_CATALOG_SIZE if count is None else count
    if count < 0:
        raise ValidationError({"count": "The demo catalog size cannot be negative."})
    directory = Path(conf.DEMO_CATALOG_DIR)

    def say(message: str) -> None:
        if stdout is not None:
            stdout.write(message)

    started = timezone.now()
    renderer = demo.renderer()
    say(f"Rendering the demo catalog with {'FluidSynth (General MIDI soundfont)' if renderer == 'fluidsynth' else 'the built-in synthesizer'}.")
    entries = demo.build_cache(
        directory=directory, count=count, clip_seconds=conf.DEMO_CLIP_SECONDS, workers=workers, progress=say
    )
    created = 0
    for entry in entries:
        desc = SimpleNamespace(
            values=entry["descriptors"], tempo_bpm=entry["tempo_bpm"], key=entry["key"], mode=entry["mode"]
        )
        fields = track_fields_from_descriptors(desc)
        with transaction.atomic():
            track = Track.objects.filter(external_id=entry["external_id"]).first()
            if track is None:
                track = Track(external_id=entry["external_id"])
                created += 1
            track.title = entry["title"]
            track.artist = entry["artist"]
            track.album = entry["album"]
            track.genre = entry["genre"]
            track.duration_s = entry["duration_s"]
            for name, value in fields.items():
                setattr(track, name, value)
            media_name = f"tracks/demo/{renderer}/{Path(entry['clip']).name}"
            if track.audio_file.name != media_name or not track.audio_file.storage.exists(media_name):
                if track.audio_file.storage.exists(media_name):
                    track.audio_file.name = media_name
                else:
                    # Our own rendered clips keep their fixed name (uploads get generated
                    # names through the field's upload_to), so reloading finds them again.
                    with open(directory / entry["clip"], "rb") as fh:
                        track.audio_file.name = track.audio_file.storage.save(media_name, File(fh))
            track.full_clean(exclude=["audio_file"])
            track.save()
    labelled = prior_labels_fill()
    catalog_touch()
    seconds = (timezone.now() - started).total_seconds()
    return (
        f"{len(entries)} demo tracks from the music21 corpus ({created} new, {labelled} prior labels), "
        f"sound: {renderer}, in {seconds:.0f} s; cached under {directory}"
    )
