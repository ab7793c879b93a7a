/* The session player: HTML5 audio through the queue; play, skip, like and GEMS reactions are
   posted to the events API with client-made UUIDs. Unsent events wait in an outbox kept in
   localStorage and are retried until the server acknowledges them (the API is idempotent on
   the event id, so a retry never counts twice). Progress events wait up to FLUSH_AFTER_MS and
   go in one request with whatever else is pending; starts, skips, completions, likes and
   reactions are sent at once; on page hide the outbox goes with fetch(keepalive). A re-plan in
   a response replaces the rest of the queue. */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("listening-player-config").textContent);
  const $ = (role) => document.querySelector('[data-role="' + role + '"]');
  const audio = document.getElementById("player-audio");
  const nowEl = document.querySelector('[data-testid="now-playing"]');
  const syncEl = $("sync"), queueEl = $("queue"), progressEl = $("progress");
  const playBtn = $("play"), skipBtn = $("skip"), likeBtn = $("like");
  const previewP = $("preview"), reasonEl = $("reason"), replannedEl = $("replanned");
  const reactions = document.querySelectorAll("[data-reaction]");
  const storeKey = "attune.listening.outbox." + cfg.sessionId;
  const PROGRESS_EVERY_S = 15;
  const FLUSH_AFTER_MS = 1500;  // how long a progress event may wait for company

  let queue = cfg.queue.slice();
  const finished = new Set(cfg.played);
  let index = queue.findIndex((t) => !finished.has(t.position));
  let started = false, lastProgress = 0, flushing = false, backoff = 1000, retryTimer = null, batchTimer = null;
  let outbox = [];
  try { outbox = JSON.parse(localStorage.getItem(storeKey) || "[]"); } catch (e) { outbox = []; }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function save() { try { localStorage.setItem(storeKey, JSON.stringify(outbox)); } catch (e) { /* storage off */ } }
  function csrf() {
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : (cfg.csrfToken || "");
  }
  function track() { return index >= 0 && index < queue.length ? queue[index] : null; }

  function record(kind, extra) {
    const t = track();
    if (!t) return;
    const ev = { event_id: uuid(), kind: kind, track_id: t.track_id, position: t.position, occurred_at: new Date().toISOString() };
    Object.assign(ev, extra || {});
    outbox.push(ev);
    save();
    if (kind === "progress") {
      if (!batchTimer) batchTimer = setTimeout(() => { batchTimer = null; flush(); }, FLUSH_AFTER_MS);
    } else {
      flush();
    }
  }

  // The page is going away: send what is pending in one request that outlives the page. The
  // outbox keeps the events until a response acknowledges them, so a lost beacon is retried
  // on the next visit (idempotent on the event id).
  function flushOnHide() {
    if (!outbox.length) return;
    clearTimeout(batchTimer); batchTimer = null;
    try {
      fetch(cfg.eventsUrl, {
        method: "POST", credentials: "same-origin", keepalive: true,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ events: outbox.slice(0, 50) }),
      }).then((response) => {
        if (response.ok || response.status === 409) {
          const sent = new Set(outbox.slice(0, 50).map((e) => e.event_id));
          outbox = outbox.filter((e) => !sent.has(e.event_id));
          save();
        }
      }).catch(() => {});
    } catch (e) { /* the next visit retries from the outbox */ }
  }

  async function flush() {
    if (flushing || !outbox.length) return;
    clearTimeout(batchTimer); batchTimer = null;
    flushing = true;
    const batch = outbox.slice(0, 50);
    let response = null;
    try {
      response = await fetch(cfg.eventsUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ events: batch }),
      });
    } catch (e) { response = null; }
    flushing = false;
    const sent = new Set(batch.map((e) => e.event_id));
    if (response && (response.ok || response.status === 400 || response.status === 409 || response.status === 404)) {
      outbox = outbox.filter((e) => !sent.has(e.event_id));
      save();
      backoff = 1000;
      let body = null;
      try { body = await response.json(); } catch (e) { body = null; }
      if (response.ok) {
        syncEl.textContent = interpolate(ngettext("Saved (%s event).", "Saved (%s events).", body.events.length), [body.events.length]);
        syncEl.dataset.acknowledged = String(Number(syncEl.dataset.acknowledged || 0) + body.events.length);
        if (body.replanned) replan(body.replanned);
      } else if (response.status === 409) {
        syncEl.textContent = gettext("This session is finished; nothing more is recorded.");
      } else {
        syncEl.textContent = interpolate(gettext("An event was refused: %s"), [JSON.stringify(body)]);
      }
      if (outbox.length) flush();
    } else {
      syncEl.textContent = gettext("Offline — will retry.");
      clearTimeout(retryTimer);
      retryTimer = setTimeout(flush, backoff);
      backoff = Math.min(backoff * 2, 30000);
    }
  }

  function replan(info) {
    // The server's queue is authoritative: positions after the finished track were replaced.
    const current = track();
    const wasPlaying = !audio.paused;
    queue = info.queue.slice();
    index = current ? queue.findIndex((t) => t.position === current.position) : -1;
    if (index < 0) index = queue.findIndex((t) => !finished.has(t.position));
    replannedEl.hidden = false;
    // In the listener's words, with the technical reason one click away (for researchers).
    replannedEl.textContent = info.replan_message || gettext("The rest of the playlist was adapted to how you seem to feel.");
    const detail = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = gettext("Technical detail");
    detail.append(summary, document.createTextNode(" " + info.replan_mode + ": " + info.replan_reason + "."));
    detail.dataset.testid = "replan-detail";
    replannedEl.append(" ", detail);
    const now = track();
    if (current && now && now.track_id !== current.track_id) {
      load();
      if (wasPlaying && now.audio_url) audio.play().catch(() => {});
    } else {
      renderQueue();
    }
  }

  function renderQueue() {
    queueEl.innerHTML = "";
    queue.forEach((t, i) => {
      const li = document.createElement("li");
      li.dataset.position = t.position;
      li.textContent = t.title + (t.artist ? " — " + t.artist : "");
      if (finished.has(t.position)) li.classList.add("done");
      if (i === index) { li.classList.add("current"); li.setAttribute("aria-current", "true"); }
      queueEl.appendChild(li);
    });
    const done = queue.filter((t) => finished.has(t.position)).length;
    progressEl.setAttribute("aria-valuemax", String(queue.length));
    progressEl.setAttribute("aria-valuenow", String(done));
    progressEl.firstElementChild.style.width = (queue.length ? (100 * done / queue.length) : 0) + "%";
  }

  function load() {
    const t = track();
    started = false; lastProgress = 0;
    likeBtn.setAttribute("aria-pressed", "false");
    reactions.forEach((b) => b.setAttribute("aria-pressed", "false"));
    renderQueue();
    if (!t) {
      nowEl.textContent = gettext("That was the last track. Finish the session when you are ready.");
      audio.removeAttribute("src"); audio.load();
      [playBtn, skipBtn, likeBtn].forEach((b) => { b.disabled = true; });
      reactions.forEach((b) => { b.disabled = true; });
      document.querySelector('[data-testid="finish"]').focus();
      return;
    }
    nowEl.textContent = t.title + (t.artist ? " — " + t.artist : "") + " " +
      interpolate(gettext("(%(position)s of %(total)s)"), { position: index + 1, total: queue.length }, true);
    nowEl.dataset.position = t.position;
    reasonEl.textContent = t.reason || "";
    if (t.audio_url) {
      audio.hidden = false; previewP.hidden = true;
      audio.src = t.audio_url;
    } else {
      audio.removeAttribute("src"); audio.hidden = true;
      previewP.hidden = !t.preview_url;
      if (t.preview_url) previewP.querySelector("a").href = t.preview_url;
    }
  }

  function played() { return Math.max(0, Math.min(audio.currentTime || 0, queue[index] && queue[index].duration_s ? queue[index].duration_s : Infinity)); }

  function next(kind) {
    const t = track();
    if (!t) return;
    if (!started) { started = true; record("started", { seconds_played: 0 }); }
    record(kind, { seconds_played: played() });
    finished.add(t.position);
    index += 1;
    load();
    if (track() && track().audio_url && kind === "completed") audio.play().catch(() => {});
    else if (track() && track().audio_url && kind === "skipped") audio.play().catch(() => {});
  }

  playBtn.addEventListener("click", () => {
    const t = track();
    if (!t) return;
    if (t.audio_url) {
      if (audio.paused) audio.play().catch((e) => { syncEl.textContent = interpolate(gettext("The audio could not play (%s)."), [e.name]); });
      else audio.pause();
    } else if (!started) {
      started = true;
      record("started", { seconds_played: 0 });
      if (t.preview_url) window.open(t.preview_url, "_blank", "noopener");
    }
  });
  audio.addEventListener("play", () => {
    playBtn.textContent = gettext("Pause");
    if (!started) { started = true; record("started", { seconds_played: played() }); }
  });
  audio.addEventListener("pause", () => { playBtn.textContent = gettext("Play"); });
  audio.addEventListener("timeupdate", () => {
    if (started && audio.currentTime - lastProgress >= PROGRESS_EVERY_S) {
      lastProgress = audio.currentTime;
      record("progress", { seconds_played: played() });
    }
  });
  audio.addEventListener("ended", () => next("completed"));
  skipBtn.addEventListener("click", () => next("skipped"));
  likeBtn.addEventListener("click", () => {
    if (likeBtn.getAttribute("aria-pressed") === "true") return;
    likeBtn.setAttribute("aria-pressed", "true");
    record("liked");
  });
  reactions.forEach((btn) => btn.addEventListener("click", () => {
    reactions.forEach((b) => b.setAttribute("aria-pressed", String(b === btn)));
    record("reaction", { payload: { gems: btn.dataset.reaction } });
  }));
  window.addEventListener("online", flush);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") flushOnHide(); });
  window.addEventListener("pagehide", flushOnHide);

  load();
  flush();
})();
