"""The demo catalog: real compositions from music21's bundled corpus, rendered to short clips.

Collections (all ship inside the music21 PyPI package): J. S. Bach's four-part chorales,
fiddle tunes from Ryan's Mammoth Collection (1883) and O'Neill's Music of Ireland (1850),
German folk songs from the Essen folk-song collection, Monteverdi madrigals and classical
movements (Mozart, Haydn, Beethoven, Schumann, Chopin, Handel, Joplin, ...).

Each piece is rendered from its score, one instrument per collection (organ for chorales, a
violin for fiddle tunes, a flute for folk songs, a choir for madrigals, a piano for classical
pieces), at the tempo of its metronome mark, or the collection's customary tempo when the score
has none. Where Debian's FluidSynth and its General MIDI soundfont are installed (`fluidsynth`,
`fluid-soundfont-gm`) the notes are played by real sampled instruments; otherwise by a small
additive synthesizer. `renderer()` says which; the cache is rebuilt when it changes.
The first DEMO_CLIP_SECONDS become an Ogg Vorbis clip, described by the same librosa pipeline
as any imported audio (emotion/audio.py). Nothing here is random numbers: every track is a
real piece and every feature is measured from its audio.

Built once and cached under var/demo_catalog/ (manifest.json + clips/); a later build reuses
every cached piece, and an interrupted build resumes. The order of pieces interleaves the
collections and is fixed, so a catalog of N pieces is the first N of a bigger one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from emotion import audio

MANIFEST_VERSION = 1
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
# General MIDI programs (0-based) for the collections' instruments.
_GM_PROGRAMS = {"organ": 19, "fiddle": 40, "flute": 73, "choir": 52, "piano": 0}
SAMPLE_RATE = 22050


@dataclass(frozen=True)
class DemoPiece:
    corpus_path: str  # relative to music21's corpus, e.g. "bach/bwv10.7.mxl"
    number: int | None  # the tune's number inside an ABC collection file
    collection: str
    genre: str
    instrument: str

    @property
    def external_id(self) -> str:
        return f"music21:{self.corpus_path}" + (f"#{self.number}" if self.number is not None else "")

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9]+", "-", self.external_id.split(":", 1)[1]).strip("-").lower()[:80]


COLLECTIONS: dict[str, dict[str, str]] = {
    "bach": {"genre": "chorale", "instrument": "organ", "artist": "J. S. Bach", "album": "Bach chorales"},
    "fiddle": {"genre": "fiddle tune", "instrument": "fiddle", "artist": "", "album": "Fiddle tunes"},
    "essen": {"genre": "folk song", "instrument": "flute", "artist": "Traditional (German)", "album": "Essen folk-song collection"},
    "madrigal": {"genre": "madrigal", "instrument": "choir", "artist": "Claudio Monteverdi", "album": "Monteverdi madrigals"},
    "classical": {"genre": "classical", "instrument": "piano", "artist": "", "album": "Classical movements"},
}
_CLASSICAL_PREFIXES = ("mozart/", "haydn/", "beethoven/opus18no1/", "schumann_robert/opus48", "schumann_clara/polonaise",
                       "chopin/", "handel/", "verdi/", "joplin/", "liliuokalani/", "johnson_j_r/", "schumann_robert/opus41")


def _corpus_files() -> list[tuple[str, int]]:
    from music21 import corpus

    root_marker = "/corpus/"
    out = []
    for path in corpus.getPaths():
        text = str(path)
        if root_marker not in text:
            continue
        out.append((text.split(root_marker, 1)[1], os.path.getsize(text)))
    return sorted(out)


def candidate_pieces() -> Iterator[DemoPiece]:
    """Every demo candidate in a fixed order that interleaves the collections."""
    files = _corpus_files()

    def piece(path: str, number: int | None, collection: str) -> DemoPiece:
        info = COLLECTIONS[collection]
        return DemoPiece(path, number, collection, info["genre"], info["instrument"])

    bach = [piece(p, None, "bach") for p, _ in files if p.startswith("bach/bwv") and p.endswith(".mxl")]
    ryans = [piece(p, None, "fiddle") for p, _ in files if p.startswith("ryansMammoth/")]
    oneills = [
        piece(p, n, "fiddle")
        for p, _ in files
        if p.startswith("oneills1850/") and (m := re.match(r"oneills1850/(\d+)-(\d+)\.abc$", p))
        for n in range(int(m.group(1)), int(m.group(2)) + 1, 5)
    ]
    # Interleave the two fiddle sources.
    fiddle = [x for pair in zip(ryans, oneills, strict=False) for x in pair]
    essen = [
        piece(p, n, "essen") for n in range(1, 30) for p, _ in files if p.startswith("essenFolksong/") and p.endswith(".abc")
    ]
    madrigals = [piece(p, None, "madrigal") for p, s in files if p.startswith("monteverdi/") and p.endswith(".mxl")]
    classical = [
        piece(p, None, "classical")
        for p, size in sorted(files, key=lambda f: f[1])
        if p.startswith(_CLASSICAL_PREFIXES) and p.endswith((".mxl", ".krn", ".xml")) and size <= 32_000
    ]
    # Quotas per round: 3 chorales, 3 fiddle tunes, 2 folk songs, 1 madrigal, 1 classical.
    pattern = [("bach", 3), ("fiddle", 3), ("essen", 2), ("madrigal", 1), ("classical", 1)]
    pools = {"bach": iter(bach), "fiddle": iter(fiddle), "essen": iter(essen), "madrigal": iter(madrigals),
             "classical": iter(classical)}
    seen: set[str] = set()
    while pools:
        for name, quota in pattern:
            pool = pools.get(name)
            for _ in range(quota):
                if pool is None:
                    break
                item = next(pool, None)
                if item is None:
                    pools.pop(name, None)
                    break
                if item.external_id not in seen:
                    seen.add(item.external_id)
                    yield item


# --- rendering ---------------------------------------------------------------------------

_CUSTOMARY_BPM = [  # quarter notes per minute, by words in the title (fiddle tunes) or collection
    (r"\breel\b", 200.0), (r"\bjig\b", 170.0), (r"hornpipe", 150.0), (r"strathspey", 130.0), (r"waltz", 150.0),
    (r"polka", 170.0), (r"march", 110.0), (r"\bair\b|lament|slow", 66.0),
]
_COLLECTION_BPM = {"bach": 72.0, "fiddle": 140.0, "essen": 96.0, "madrigal": 80.0, "classical": 100.0}

_INSTRUMENTS = {
    # harmonic amplitudes, attack s, decay time constant s (None = sustained), vibrato depth
    "organ": ([1.0, 0.55, 0.35, 0.2, 0.12, 0.06], 0.03, None, 0.0),
    "fiddle": ([1.0 / k for k in range(1, 11)], 0.025, None, 0.004),
    "flute": ([1.0, 0.22, 0.06], 0.04, None, 0.002),
    "choir": ([1.0, 0.35, 0.12, 0.05], 0.06, None, 0.005),
    "piano": ([1.0, 0.6, 0.35, 0.2, 0.1, 0.05], 0.005, 0.7, 0.0),
}


def score_tempo(score, piece: DemoPiece, title: str) -> float:
    """The score's own metronome mark if it has one, else the customary tempo."""
    from music21 import tempo

    marks = [m for m in score.recurse().getElementsByClass(tempo.MetronomeMark) if m.number]
    if marks:
        bpm = float(marks[0].getQuarterBPM() or marks[0].number)
        if 30 <= bpm <= 300:
            return bpm
    if piece.collection == "fiddle":
        for pattern, bpm in _CUSTOMARY_BPM:
            if re.search(pattern, title, flags=re.IGNORECASE):
                return bpm
    return _COLLECTION_BPM[piece.collection]


def synthesize(notes: list[tuple[float, float, float]], instrument: str, seconds: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Additive synthesis of (start s, duration s, MIDI pitch) notes, cut at `seconds`."""
    harmonics, attack, decay, vibrato = _INSTRUMENTS[instrument]
    total = int(seconds * sr)
    out = np.zeros(total + sr, dtype=np.float64)
    release = 0.06
    for start, duration, pitch in notes:
        if start >= seconds:
            continue
        n = int((min(duration, seconds - start) + release) * sr)
        if n <= 0:
            continue
        t = np.arange(n) / sr
        f0 = 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)
        phase = 2 * np.pi * f0 * (t + (vibrato / (2 * np.pi * 5.5)) * np.sin(2 * np.pi * 5.5 * t) if vibrato else t)
        wave = np.zeros(n)
        for k, amp in enumerate(harmonics, start=1):
            if f0 * k >= sr / 2:
                break
            wave += amp * np.sin(k * phase)
        env = np.minimum(1.0, t / attack)
        if decay:
            env *= np.exp(-t / decay)
        body = max(1, int(duration * sr))
        env[body:] *= np.linspace(1.0, 0.0, n - body) if n > body else 1.0
        i = int(start * sr)
        out[i : i + n] += wave * env
    out = out[:total]
    peak = np.abs(out).max()
    return (0.8 * out / peak).astype(np.float32) if peak > 0 else out.astype(np.float32)


def renderer() -> str:
    """"fluidsynth" where FluidSynth and the GM soundfont are installed, else "synth"."""
    return "fluidsynth" if shutil.which("fluidsynth") and SOUNDFONT.exists() else "synth"


def fluidsynth_render(
    notes: list[tuple[float, float, float]], instrument: str, seconds: float, sr: int = SAMPLE_RATE
) -> np.ndarray:
    """The same (start s, duration s, MIDI pitch) notes played by FluidSynth with the General MIDI
    soundfont: written to a MIDI file (pretty_midi), rendered to WAV, mixed to mono, cut at
    `seconds` and normalised like synthesize()."""
    import pretty_midi
    import soundfile

    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    track = pretty_midi.Instrument(program=_GM_PROGRAMS[instrument])
    for start, duration, pitch in notes:
        if start < seconds:
            track.notes.append(pretty_midi.Note(velocity=90, pitch=int(round(pitch)), start=start,
                                                end=min(start + duration, seconds + 0.5)))
    midi.instruments.append(track)
    with tempfile.TemporaryDirectory(prefix="attune-fluidsynth-") as tmp:
        mid, wav = Path(tmp) / "piece.mid", Path(tmp) / "piece.wav"
        midi.write(str(mid))
        subprocess.run(
            ["fluidsynth", "-ni", "-q", "-g", "0.8", "-r", str(sr), "-F", str(wav), str(SOUNDFONT), str(mid)],
            check=True, capture_output=True, timeout=120,
        )
        y, rate = soundfile.read(str(wav), dtype="float64", always_2d=True)
    if rate != sr:
        raise ValueError(f"FluidSynth wrote {rate} Hz, not {sr}")
    mono = y.mean(axis=1)[: int(seconds * sr)]
    if mono.size < int(seconds * sr):
        mono = np.pad(mono, (0, int(seconds * sr) - mono.size))
    peak = np.abs(mono).max()
    return (0.8 * mono / peak).astype(np.float32) if peak > 0 else mono.astype(np.float32)


def score_notes(score, bpm: float, seconds: float) -> list[tuple[float, float, float]]:
    per_quarter = 60.0 / bpm
    notes = []
    for element in score.flatten().notes:
        start = float(element.offset) * per_quarter
        if start >= seconds:
            continue
        duration = max(0.05, float(element.duration.quarterLength) * per_quarter)
        for p in element.pitches:
            notes.append((start, duration, float(p.midi)))
    return notes


_COMPOSERS = {
    "bach": "J. S. Bach", "mozart": "W. A. Mozart", "haydn": "Joseph Haydn", "beethoven": "Ludwig van Beethoven",
    "schumann_robert": "Robert Schumann", "schumann_clara": "Clara Schumann", "chopin": "Frédéric Chopin",
    "handel": "G. F. Handel", "verdi": "Giuseppe Verdi", "joplin": "Scott Joplin", "liliuokalani": "Liliʻuokalani",
    "johnson_j_r": "J. Rosamond Johnson", "monteverdi": "Claudio Monteverdi",
}


def piece_title_and_composer(piece: DemoPiece, meta) -> tuple[str, str]:
    """A readable title and composer from the score's metadata and its place in the corpus."""
    parts = piece.corpus_path.split("/")
    stem = Path(piece.corpus_path).stem
    meta_title = (getattr(meta, "title", None) or "").strip() if meta else ""
    movement = (getattr(meta, "movementName", None) or "").strip() if meta else ""
    meta_composer = (getattr(meta, "composer", None) or "").strip() if meta else ""
    if piece.collection == "bach":
        return f"Chorale {stem.upper().replace('BWV', 'BWV ')}", "J. S. Bach"
    if piece.collection == "madrigal":
        book, number = (stem.split(".") + ["", "", ""])[1:3]
        return f"Madrigal, Book {book} No. {number}", "Claudio Monteverdi"
    if piece.collection == "classical":
        composer = _COMPOSERS.get(parts[0], meta_composer or parts[0])
        file_like = (".mxl", ".xml", ".krn")
        work = meta_title if not meta_title.lower().endswith(file_like) else ""
        movement = movement if not movement.lower().endswith(file_like) else ""
        where = " ".join(p.replace("_", " ") for p in parts[1:-1])
        name = work or movement or where.upper()
        detail = stem.replace("_", " ")
        return (f"{name}: {detail}" if name else detail)[:300], composer
    title = meta_title or movement or stem.replace("_", " ")
    composer = meta_composer or COLLECTIONS[piece.collection]["artist"] or "Traditional"
    return title[:300], composer[:300]


def render_piece(piece: DemoPiece, clip_dir: Path, clip_seconds: float) -> dict:
    """Parse, render, describe and save one piece. Returns its manifest entry."""
    import soundfile
    from music21 import corpus

    score = corpus.parse(piece.corpus_path, number=piece.number) if piece.number else corpus.parse(piece.corpus_path)
    if score is None or not hasattr(score, "flatten"):
        raise ValueError("not a single score")
    title, composer = piece_title_and_composer(piece, score.metadata)
    bpm = score_tempo(score, piece, title)
    full_seconds = float(score.highestTime) * 60.0 / bpm
    seconds = min(clip_seconds, full_seconds)
    notes = score_notes(score, bpm, seconds)
    if len(notes) < 4 or seconds < 3:
        raise ValueError("too few notes to render")
    y = fluidsynth_render(notes, piece.instrument, seconds) if renderer() == "fluidsynth" else synthesize(
        notes, piece.instrument, seconds)
    desc = audio.extract_descriptors(y, SAMPLE_RATE)
    clip = clip_dir / f"{piece.slug}.ogg"
    tmp = clip.with_suffix(".tmp.ogg")
    soundfile.write(str(tmp), y, SAMPLE_RATE, format="OGG", subtype="VORBIS")
    tmp.replace(clip)
    return {
        **asdict(piece),
        "external_id": piece.external_id,
        "title": title[:300],
        "artist": composer[:300],
        "album": COLLECTIONS[piece.collection]["album"],
        "clip": f"clips/{clip.name}",
        "duration_s": round(seconds, 3),
        "rendered_bpm": bpm,
        "tempo_bpm": float(desc.tempo_bpm),
        "key": int(desc.key),
        "mode": int(desc.mode),
        "descriptors": {k: float(v) for k, v in desc.values.items()},
    }


def _render_job(args: tuple[DemoPiece, str, float]) -> tuple[str, dict | None, str]:
    piece, clip_dir, clip_seconds = args
    try:
        return piece.external_id, render_piece(piece, Path(clip_dir), clip_seconds), ""
    except Exception as exc:  # a score music21 cannot read or render is skipped, not fatal
        return piece.external_id, None, f"{type(exc).__name__}: {exc}"[:300]


# --- the cache ---------------------------------------------------------------------------


def _load_manifest(path: Path, clip_seconds: float) -> dict:
    if path.exists():
        try:
            data = json.loads(path.read_text())
            if (data.get("version") == MANIFEST_VERSION and data.get("clip_seconds") == clip_seconds
                    and data.get("renderer", "synth") == renderer()):
                return data
        except (OSError, ValueError):
            pass
    return {"version": MANIFEST_VERSION, "clip_seconds": clip_seconds, "renderer": renderer(), "pieces": {},
            "failed": {}}


def _save_manifest(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


def build_cache(
    *,
    directory: Path,
    count: int,
    clip_seconds: float,
    workers: int = 2,
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """Make sure the first `count` renderable pieces are in the cache; return their entries in order."""
    directory = Path(directory)
    clip_dir = directory / "clips"
    clip_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / "manifest.json"
    manifest = _load_manifest(manifest_path, clip_seconds)
    say = progress or (lambda _msg: None)
    started = time.perf_counter()

    def cached(piece: DemoPiece) -> bool:
        entry = manifest["pieces"].get(piece.external_id)
        return entry is not None and (directory / entry["clip"]).exists()

    chosen: list[DemoPiece] = []
    candidates = candidate_pieces()
    built = 0
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        while len(chosen) < count:
            wanted = count - len(chosen)
            batch: list[DemoPiece] = []
            for piece in candidates:
                if piece.external_id in manifest["failed"]:
                    continue
                batch.append(piece)
                if len(batch) >= wanted:
                    break
            if not batch:
                break  # the corpus is exhausted
            todo = [p for p in batch if not cached(p)]
            jobs = [(p, str(clip_dir), clip_seconds) for p in todo]
            results = pool.map(_render_job, jobs, chunksize=2) if pool else map(_render_job, jobs)
            for external_id, entry, error in results:
                if entry is None:
                    manifest["failed"][external_id] = error
                else:
                    manifest["pieces"][external_id] = entry
                    built += 1
                if (built + len(manifest["failed"])) % 10 == 0:
                    _save_manifest(manifest_path, manifest)
                done = built + len(manifest["failed"])
                if done % 10 == 0 or done == len(todo):
                    say(f"  rendered {built} new clips so far ({time.perf_counter() - started:.0f} s)")
            chosen.extend(p for p in batch if cached(p))
    finally:
        if pool:
            pool.shutdown()
        _save_manifest(manifest_path, manifest)
    return [manifest["pieces"][p.external_id] for p in chosen[:count]]

