/* The one webcam client of Attune (an ES module), used by the mood check page and by the small
 * camera panel of the listening pages (start page: "check"; player: "trace").
 *
 * Camera frames are scaled to the configured size (320x240), sent as JPEG over ws/emotion/ a
 * few times a second with at most one frame waiting for an answer (a frame unanswered for 2 s
 * no longer blocks the next), and the server answers with expression probabilities and a stable
 * mood. Frames are never stored; with the emotion_trace consent the player's socket attaches the
 * session so the server keeps one summary per second. Every reason the camera stops is said
 * in words (no permission, no camera, consent off or revoked, logged out, connection lost). */

const IN_FLIGHT_TIMEOUT_MS = 2000;
// gettext() and interpolate() come from the JavaScript catalog (jsi18n/), loaded before this module.
const link = (href, text) => '<a href="' + href + '">' + text + "</a>";

function closeReasons(cfg) {
  const consent = link(cfg.consentUrl, gettext("your consent settings"));
  return {
    4401: interpolate(gettext("You are logged out. %s to use the camera."), [link(cfg.loginUrl || "/accounts/login/", gettext("Log in"))]),
    4403: interpolate(gettext("The camera is off because you have not allowed webcam mood reading. Turn it on in %s."), [consent]),
    4410: interpolate(gettext("The camera stopped because you turned off webcam mood reading in %s."), [consent]),
  };
}

function cameraError(err) {
  const name = err && err.name ? err.name : gettext("unknown error");
  if (name === "NotAllowedError" || name === "SecurityError") {
    return gettext("The camera is off because camera permission was denied. Allow it in your browser's site settings and try again.");
  }
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") {
    return gettext("The camera is off because no usable camera was found on this device.");
  }
  return interpolate(gettext("The camera could not be started (%s)."), [name]);
}

export const NO_CAMERA_SUPPORT =
  gettext("This browser cannot use a camera here (it needs a secure https connection and camera support).");

export function cameraSupported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

/* A camera + socket pair. Callbacks: onState(on), onStatus(text), onExplain(html, reason),
 * onResult(msg), onAttached(msg). */
export class WebcamClient {
  constructor(cfg, video, callbacks) {
    this.cfg = { fps: 2, width: 320, height: 240, quality: 0.7, wsPath: "/ws/emotion/", ...cfg };
    this.video = video;
    this.cb = callbacks;
    this.canvas = document.createElement("canvas");
    this.canvas.width = this.cfg.width;
    this.canvas.height = this.cfg.height;
    this.stream = null; this.socket = null; this.timer = null;
    this.inFlight = false; this.sentAt = 0;
  }

  get on() { return this.stream !== null; }

  async start() {
    this.cb.onExplain("");
    if (!this.cfg.cameraAllowed) { this.cb.onExplain(closeReasons(this.cfg)[4403], "consent"); return false; }
    if (!cameraSupported()) { this.cb.onExplain(NO_CAMERA_SUPPORT, "unsupported"); return false; }
    this.cb.onStatus(gettext("Asking for camera permission…"));
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: this.cfg.width }, height: { ideal: this.cfg.height } }, audio: false,
      });
    } catch (err) {
      this.stream = null;
      this.cb.onStatus("");
      this.cb.onExplain(cameraError(err), "camera");
      return false;
    }
    this.video.srcObject = this.stream;
    this.cb.onState(true);
    // Played explicitly: Chrome pauses a muted *autoplaying* video while it is off screen, and a
    // paused video would send the same still frame (the player's camera card is below the fold).
    this.video.play().catch(() => {});
    this.open();
    return true;
  }

  stop(message) {
    if (this.timer) { clearInterval(this.timer); this.timer = null; }
    if (this.socket) {
      const s = this.socket; this.socket = null; s.onclose = null;
      try { s.close(1000); } catch (e) { /* already closed */ }
    }
    if (this.stream) { this.stream.getTracks().forEach((t) => t.stop()); this.stream = null; }
    this.video.srcObject = null;
    this.inFlight = false;
    this.cb.onState(false);
    this.cb.onStatus(message || gettext("Camera stopped. Nothing was recorded."));
  }

  open() {
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(proto + location.host + this.cfg.wsPath);
    this.socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      this.cb.onStatus(gettext("Connected. Looking for a face…"));
      if (this.cfg.traceRef) socket.send(JSON.stringify({ type: "attach", session: this.cfg.traceRef }));
      this.timer = setInterval(() => this.send(), Math.round(1000 / this.cfg.fps));
    };
    socket.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.type === "result") {
        this.inFlight = false;
        this.cb.onResult(msg);
      } else if (msg.type === "attached") {
        if (this.cb.onAttached) this.cb.onAttached(msg);
      } else if (msg.type === "error") {
        if (msg.frame) this.inFlight = false;
        if (!msg.close_code) this.cb.onStatus(interpolate(gettext("Server: %s"), [msg.error]));
      } else if (msg.type === "dropped") {
        this.inFlight = false;
      } else if (typeof msg.message === "string") {
        this.cb.onStatus(msg.message);  // e.g. the server warming up its model
      }
    };
    socket.onclose = (ev) => {
      this.socket = null;
      const why = closeReasons(this.cfg)[ev.code];
      if (why) this.cb.onExplain(why, "closed");
      this.stop(why ? gettext("Camera stopped.") : gettext("The connection to the server was lost; the camera is off."));
    };
  }

  send() {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || !this.video.videoWidth) return;
    if (this.inFlight && performance.now() - this.sentAt < IN_FLIGHT_TIMEOUT_MS) return;
    this.canvas.getContext("2d").drawImage(this.video, 0, 0, this.cfg.width, this.cfg.height);
    this.canvas.toBlob((blob) => {
      if (!blob || this.socket !== socket || socket.readyState !== WebSocket.OPEN) return;
      this.inFlight = true;
      this.sentAt = performance.now();
      socket.send(blob);
    }, "image/jpeg", this.cfg.quality);
  }
}

function faceStatus(msg) {
  if (!msg.faces.length) return gettext("No face in view. Face the camera in good light.");
  const ms = Math.round(msg.processing_ms);
  if (msg.faces.length > 1) {
    return interpolate(gettext("Face found (%(faces)s faces; showing the largest). Answered in %(ms)s ms."), { faces: msg.faces.length, ms: ms }, true);
  }
  return interpolate(gettext("Face found. Answered in %s ms."), [ms]);
}

/* --- the mood check page ------------------------------------------------------------------ */

function mountMoodCheck(root) {
  const cfg = JSON.parse(document.getElementById("emotion-config").textContent);
  const $ = (id) => document.getElementById(id);
  const startBtn = $("camera-start"), stopBtn = $("camera-stop"), reason = $("camera-reason");
  const indicator = root.querySelector("[data-testid=camera-indicator]");
  const video = $("camera-video"), statusEl = $("camera-status");
  const stableEl = $("stable-mood"), dot = $("mood-dot"), caption = $("va-caption");
  const startFrom = root.querySelector("[data-role=start-from-mood]");
  const byName = Object.fromEntries(cfg.expressions.map((e) => [e.name, e]));
  const gemsByName = Object.fromEntries(cfg.gems.map((g) => [g.name, g]));

  function offerSession(params, words) {
    if (!startFrom) return;
    const url = new URL(startFrom.dataset.base, location.href);
    Object.entries(params).forEach(([k, v]) => url.searchParams.set(k, v));
    startFrom.href = url.pathname + url.search;
    startFrom.querySelector("[data-role=from-words]").textContent = "(" + words + ")";
    startFrom.hidden = false;
  }
  function placeDot(valence, arousal, text) {
    dot.setAttribute("cx", (100 + 90 * valence).toFixed(1));
    dot.setAttribute("cy", (100 - 90 * arousal).toFixed(1));
    dot.removeAttribute("hidden");  // an SVG element: no .hidden property
    caption.textContent = text;
  }
  function showBars(probs) {
    for (const e of cfg.expressions) {
      const pct = Math.round((probs ? probs[e.name] || 0 : 0) * 100);
      const bar = $("bar-" + e.name);
      bar.firstElementChild.style.width = pct + "%";
      bar.setAttribute("aria-valuenow", String(pct));
      $("pct-" + e.name).textContent = pct + "%";
    }
  }
  const client = new WebcamClient(cfg, video, {
    onState(on) {
      indicator.dataset.state = on ? "on" : "off";
      indicator.querySelector(".text").textContent = on ? gettext("Camera on") : gettext("Camera off");
      startBtn.hidden = on; stopBtn.hidden = !on; video.hidden = !on;
      startBtn.disabled = false;
    },
    onStatus(text) { statusEl.textContent = text; },
    onExplain(html) { reason.innerHTML = html ? html + " " + gettext("You can use the buttons below instead.") : ""; reason.hidden = !html; },
    onResult(msg) {
      statusEl.textContent = faceStatus(msg);
      showBars(msg.faces.length ? msg.faces[0].probabilities : null);
      const s = msg.stable;
      if (s && s.label) {
        const e = byName[s.label];
        const shown = e ? e.label.toLowerCase() : s.label;  // the expression's name in the page's language
        stableEl.textContent = (e ? e.emoji + " " : "") + shown;
        stableEl.dataset.label = s.label;
        placeDot(s.valence, s.arousal, interpolate(gettext("Valence %(valence)s, arousal %(arousal)s (from your expression)"),
          { valence: s.valence.toFixed(2), arousal: s.arousal.toFixed(2) }, true));
        offerSession({ current_source: "fer", current_fer: s.label, current_valence: s.valence.toFixed(2),
                       current_arousal: s.arousal.toFixed(2) }, interpolate(gettext("your expression: %s"), [shown]));
      }
    },
  });
  startBtn.addEventListener("click", () => { startBtn.disabled = true; client.start().then((ok) => { if (!ok) startBtn.disabled = false; }); });
  stopBtn.addEventListener("click", () => client.stop());
  window.addEventListener("pagehide", () => { if (client.on) client.stop(); });
  if (cfg.cameraAllowed && !cameraSupported()) {
    reason.textContent = NO_CAMERA_SUPPORT + " " + gettext("Use the buttons below instead.");
    reason.hidden = false;
    startBtn.disabled = true;
  }

  // Self-report: the nine GEMS feelings, placed on the same circumplex.
  const buttons = root.querySelectorAll("[data-gems]");
  buttons.forEach((btn) => btn.addEventListener("click", () => {
    buttons.forEach((b) => b.setAttribute("aria-pressed", String(b === btn)));
    const g = gemsByName[btn.dataset.gems];
    $("self-report").textContent = interpolate(gettext("You said: %s."), [g.label]);
    placeDot(g.valence, g.arousal, interpolate(gettext("Valence %(valence)s, arousal %(arousal)s (%(feeling)s, as you said)"),
      { valence: g.valence.toFixed(2), arousal: g.arousal.toFixed(2), feeling: g.label }, true));
    offerSession({ current_source: "gems", current_gems: g.name }, interpolate(gettext("%s, as you said"), [g.label.toLowerCase()]));
  }));
}

/* --- the camera panel of the listening pages ------------------------------------------------ */

function mountPanel(panel) {
  const cfgEl = document.getElementById("listening-webcam-config");
  if (!cfgEl) return;
  const cfg = JSON.parse(cfgEl.textContent);
  if (!cfg.cameraAllowed) return;
  const mode = panel.dataset.webcamMode;
  const q = (role) => panel.querySelector('[data-role="' + role + '"]');
  const startBtn = q("cam-start"), stopBtn = q("cam-stop"), statusEl = q("cam-status");
  const video = q("cam-video"), stableEl = q("cam-stable"), useBtn = q("cam-use");
  let stable = null;
  const ferLabel = Object.fromEntries((cfg.expressions || []).map((e) => [e.name, e.label.toLowerCase()]));
  const shown = (name) => ferLabel[name] || name;
  const client = new WebcamClient({ ...cfg, traceRef: mode === "trace" ? cfg.traceRef : null }, video, {
    onState(on) { video.hidden = !on; stopBtn.hidden = !on; startBtn.hidden = on; startBtn.disabled = false; },
    onStatus(text) { statusEl.textContent = text || (client.on ? "" : gettext("Camera off.")); },
    onExplain(html) { if (html) statusEl.innerHTML = html; },
    onResult(msg) {
      statusEl.textContent = faceStatus(msg);
      if (msg.stable && msg.stable.label) {
        stable = msg.stable;
        stableEl.textContent = shown(msg.stable.label);
        if (useBtn) useBtn.disabled = false;
      }
    },
    onAttached(msg) {
      statusEl.textContent = msg.recording ? gettext("Camera on; one summary per second is saved with this session.") : (msg.reason || gettext("Nothing is saved."));
    },
  });
  startBtn.addEventListener("click", () => { startBtn.disabled = true; client.start().then((ok) => { if (!ok) startBtn.disabled = false; }); });
  stopBtn.addEventListener("click", () => client.stop(gettext("Camera off. Nothing was recorded from the picture.")));
  if (useBtn) {
    useBtn.addEventListener("click", () => {
      if (!stable) return;
      const target = document.querySelector('[data-mood-prefix="current"]');
      target.dispatchEvent(new CustomEvent("listening:fer", { detail: { label: stable.label, valence: stable.valence, arousal: stable.arousal } }));
      useBtn.textContent = interpolate(gettext("Used: %s"), [shown(stable.label)]);
    });
  }
  window.addEventListener("pagehide", () => { if (client.on) client.stop(); });
}

document.querySelectorAll("[data-webcam-moodcheck]").forEach(mountMoodCheck);
document.querySelectorAll("[data-webcam-mode]").forEach(mountPanel);
