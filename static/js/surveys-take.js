// The survey page: fetch the next track, play its clip, count real listening time, collect the
// answer and send it to the JSON API. The answer button stays disabled until the minimum
// listening time is reached and the answer is complete. A retry reuses the answer's id, so a
// flaky network never stores an answer twice.
(function () {
  "use strict";
  const app = document.getElementById("survey-app");
  if (!app) return;
  const $ = (name) => app.querySelector(`[data-field="${name}"]`);
  const cfg = {
    nextUrl: app.dataset.nextUrl,
    submitUrl: app.dataset.submitUrl,
    skipUrl: app.dataset.skipUrl,
    format: app.dataset.format,
    minListen: Number(app.dataset.minListen),
    clip: Number(app.dataset.clip),
    askLiking: app.dataset.askLiking === "1",
    askFamiliarity: app.dataset.askFamiliarity === "1",
  };
  const csrf = app.querySelector("input[name=csrfmiddlewaretoken]").value;
  const audio = $("audio");
  const form = $("form");
  const submit = $("submit");
  const errorBox = $("error");
  const MAX_PICKS = 3;
  let track = null;
  let clientId = null;
  let listened = 0;
  let lastTime = null;
  let sending = false;

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function messageOf(body, fallback) {
    if (!body || typeof body !== "object") return fallback;
    const parts = [];
    for (const value of Object.values(body)) {
      if (Array.isArray(value)) parts.push(...value.map(String));
      else if (value && typeof value === "object") parts.push(messageOf(value, ""));
      else if (value) parts.push(String(value));
    }
    return parts.filter(Boolean).join(" ") || fallback;
  }

  function showProgress(answered, total) {
    const bar = $("progress");
    bar.max = Math.max(total, 1);
    bar.value = answered;
    $("progress-text").textContent = interpolate(ngettext("%(answered)s of %(total)s song", "%(answered)s of %(total)s songs", total), { answered: answered, total: total }, true);
  }

  function picks() {
    return Array.from(form.querySelectorAll(".emotion-button[aria-pressed=true]")).map((b) => b.dataset.emotion);
  }

  function intensities() {
    return Array.from(form.querySelectorAll("[data-intensity]")).map((fs) => {
      const checked = fs.querySelector("input:checked");
      return checked ? Number(checked.value) : 0;
    });
  }

  function scale(name) {
    const checked = form.querySelector(`input[name="${name}"]:checked`);
    return checked ? Number(checked.value) : null;
  }

  function missing() {
    const out = [];
    if (cfg.format === "pick" && picks().length === 0) out.push(gettext("pick at least one emotion"));
    if (cfg.askLiking && scale("liking") === null) out.push(gettext("say how much you like it"));
    if (cfg.askFamiliarity && scale("familiarity") === null) out.push(gettext("say how well you know it"));
    return out;
  }

  function refresh() {
    const left = Math.max(0, Math.ceil(cfg.minListen - listened));
    const status = $("listen-status");
    status.textContent = left > 0
      ? interpolate(ngettext("Keep listening: %s more second before you can answer.", "Keep listening: %s more seconds before you can answer.", left), [left])
      : gettext("Thanks for listening — you can answer now.");
    const todo = missing();
    submit.disabled = sending || !track || left > 0 || todo.length > 0;
    $("submit-help").textContent = left > 0 ? gettext("The answer button unlocks after the minimum listening time.")
      : (todo.length ? interpolate(gettext("To continue, %s."), [todo.join(gettext(" and "))]) : "");
  }

  function resetForm() {
    form.querySelectorAll(".emotion-button").forEach((b) => { b.setAttribute("aria-pressed", "false"); });
    form.querySelectorAll("input[type=radio]").forEach((r) => { r.checked = r.name.startsWith("intensity-") && r.value === "0"; });
    errorBox.textContent = "";
  }

  function showThanks(answered) {
    $("player").hidden = true;
    form.hidden = true;
    audio.pause();
    // The sentence around the count, in the page's language and plural (the count keeps its element).
    $("rated-text").innerHTML = interpolate(
      ngettext("You rated %s song in this survey.", "You rated %s songs in this survey.", answered),
      ['<strong data-field="rated-count">' + String(answered) + "</strong>"]);
    $("thanks").hidden = false;
    $("thanks").querySelector("h2").focus?.();
  }

  async function loadNext() {
    track = null;
    refresh();
    let response;
    try {
      response = await fetch(cfg.nextUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (err) {
      errorBox.textContent = gettext("The server could not be reached. Please check your connection and reload the page.");
      form.hidden = false;
      return;
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      form.hidden = false;
      errorBox.textContent = messageOf(body, interpolate(gettext("Something went wrong (%s)."), [response.status]));
      return;
    }
    showProgress(body.answered, body.total);
    if (body.done) { showThanks(body.answered); return; }
    track = body.track;
    clientId = uuid4();
    listened = 0;
    lastTime = null;
    resetForm();
    $("track-title").textContent = track.title;
    $("track-artist").textContent = track.artist || "";
    audio.src = track.audio_url;
    audio.load();
    $("player").hidden = false;
    form.hidden = false;
    refresh();
  }

  audio.addEventListener("timeupdate", () => {
    const now = audio.currentTime;
    if (lastTime !== null && !audio.paused && !audio.seeking) {
      const delta = now - lastTime;
      if (delta > 0 && delta < 1.5) listened += delta; // jumps (seeking) do not count
    }
    lastTime = now;
    if (now >= cfg.clip) { audio.pause(); audio.currentTime = 0; lastTime = 0; }
    refresh();
  });
  audio.addEventListener("seeked", () => { lastTime = audio.currentTime; });
  audio.addEventListener("play", () => { $("play").textContent = "⏸ " + gettext("Pause"); });
  audio.addEventListener("pause", () => { $("play").textContent = "▶ " + gettext("Play the clip"); });
  audio.addEventListener("error", () => {
    if (track) errorBox.textContent = gettext("This clip could not be played. You can skip this song.");
  });
  $("play").addEventListener("click", () => {
    if (audio.paused) audio.play().catch(() => { errorBox.textContent = gettext("The browser did not start playback; press play on the player."); });
    else audio.pause();
  });

  $("skip").addEventListener("click", async () => {
    if (!track || sending) return;
    sending = true;
    refresh();
    try {
      const response = await fetch(cfg.skipUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ track_id: track.id }),
      });
      if (!response.ok) {
        errorBox.textContent = messageOf(await response.json().catch(() => null), interpolate(gettext("Could not skip (%s)."), [response.status]));
        return;
      }
      audio.pause();
      await loadNext();
    } catch (err) {
      errorBox.textContent = gettext("The server could not be reached. Please try again.");
    } finally {
      sending = false;
      refresh();
    }
  });

  form.addEventListener("click", (event) => {
    const button = event.target.closest(".emotion-button");
    if (!button) return;
    const pressed = button.getAttribute("aria-pressed") === "true";
    if (!pressed && picks().length >= MAX_PICKS) {
      errorBox.textContent = interpolate(gettext("Pick at most %s emotions: unpick one first."), [MAX_PICKS]);
      return;
    }
    errorBox.textContent = "";
    button.setAttribute("aria-pressed", pressed ? "false" : "true");
    refresh();
  });
  form.addEventListener("change", refresh);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled || !track) return;
    sending = true;
    refresh();
    const payload = {
      client_id: clientId,
      track_id: track.id,
      listened_seconds: Math.round(listened * 100) / 100,
      liking: cfg.askLiking ? scale("liking") : null,
      familiarity: cfg.askFamiliarity ? scale("familiarity") : null,
    };
    if (cfg.format === "pick") payload.picks = picks();
    else payload.intensities = intensities();
    try {
      const response = await fetch(cfg.submitUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(payload),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        errorBox.textContent = messageOf(body, interpolate(gettext("Your answer was not saved (%s)."), [response.status]));
        return;
      }
      audio.pause();
      await loadNext();
    } catch (err) {
      errorBox.textContent = gettext("Your answer could not be sent. Please try again: it will not be counted twice.");
    } finally {
      sending = false;
      refresh();
    }
  });

  window.setInterval(refresh, 1000);
  loadNext();
})();
