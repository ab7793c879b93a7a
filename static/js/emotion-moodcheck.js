/* Mood check: webcam frames -> ws/emotion/ -> live expression bars and a stable mood.
 * Frames are scaled down to 320x240 JPEG (quality 0.7) in the browser and sent a few times a
 * second; at most one frame waits for an answer at a time. Without a camera (or consent) the
 * GEMS buttons let the person say how they feel. */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("emotion-config").textContent);
  const $ = (id) => document.getElementById(id);
  const startBtn = $("camera-start"), stopBtn = $("camera-stop"), reason = $("camera-reason");
  const indicator = document.querySelector("[data-testid=camera-indicator]");
  const video = $("camera-video"), canvas = $("camera-canvas"), statusEl = $("camera-status");
  const stableEl = $("stable-mood"), dot = $("mood-dot"), caption = $("va-caption");
  const byName = Object.fromEntries(cfg.expressions.map((e) => [e.name, e]));
  let stream = null, socket = null, timer = null, inFlight = false, sentAt = 0;

  function explain(html) {
    reason.innerHTML = html;
    reason.hidden = !html;
  }
  function setIndicator(on) {
    indicator.dataset.state = on ? "on" : "off";
    indicator.querySelector(".text").textContent = on ? "Camera on" : "Camera off";
    startBtn.hidden = on;
    stopBtn.hidden = !on;
    video.hidden = !on;
  }
  function placeDot(valence, arousal, text) {
    dot.setAttribute("cx", (100 + 90 * valence).toFixed(1));
    dot.setAttribute("cy", (100 - 90 * arousal).toFixed(1));
    dot.hidden = false;
    caption.textContent = text;
  }
  function showBars(probs) {
    for (const e of cfg.expressions) {
      const p = probs ? probs[e.name] || 0 : 0;
      const pct = Math.round(p * 100);
      const bar = $("bar-" + e.name);
      bar.firstElementChild.style.width = pct + "%";
      bar.setAttribute("aria-valuenow", String(pct));
      $("pct-" + e.name).textContent = pct + "%";
    }
  }

  function stop(message) {
    if (timer) { clearInterval(timer); timer = null; }
    if (socket) { const s = socket; socket = null; s.onclose = null; try { s.close(1000); } catch (e) { /* closed */ } }
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
    video.srcObject = null;
    inFlight = false;
    setIndicator(false);
    statusEl.textContent = message || "Camera stopped. Nothing was recorded.";
  }

  const CLOSE_REASONS = {
    4401: 'You are logged out. <a href="' + cfg.loginUrl + '">Log in</a> to use the camera.',
    4403: 'The camera is off because you have not allowed webcam mood reading. Turn it on in <a href="' + cfg.consentUrl + '">your consent settings</a>.',
    4410: 'The camera stopped because you turned off webcam mood reading in <a href="' + cfg.consentUrl + '">your consent settings</a>.',
  };

  function openSocket() {
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + cfg.wsPath);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      statusEl.textContent = "Connected. Looking for a face…";
      timer = setInterval(sendFrame, Math.round(1000 / cfg.fps));
    };
    socket.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.type === "result") { inFlight = false; showResult(msg); }
      else if (msg.type === "error") {
        if (msg.frame) inFlight = false;
        if (!msg.close_code) statusEl.textContent = "Server: " + msg.error;
      } else if (msg.type === "dropped") { inFlight = false; }
    };
    socket.onclose = (ev) => {
      socket = null;
      const why = CLOSE_REASONS[ev.code];
      if (why) explain(why);
      stop(why ? "Camera stopped." : "The connection to the server was lost; the camera is off.");
    };
  }

  function sendFrame() {
    if (!socket || socket.readyState !== WebSocket.OPEN || !video.videoWidth) return;
    if (inFlight && performance.now() - sentAt < 2000) return;  // one frame in flight at a time
    const ctx = canvas.getContext("2d");
    ctx.drawImage(video, 0, 0, cfg.width, cfg.height);
    canvas.toBlob((blob) => {
      if (!blob || !socket || socket.readyState !== WebSocket.OPEN) return;
      inFlight = true;
      sentAt = performance.now();
      socket.send(blob);
    }, "image/jpeg", cfg.quality);
  }

  function showResult(msg) {
    if (msg.faces.length === 0) {
      statusEl.textContent = "No face in view. Face the camera in good light.";
      showBars(null);
    } else {
      const face = msg.faces[0];
      showBars(face.probabilities);
      const extra = msg.faces.length > 1 ? " (" + msg.faces.length + " faces; showing the largest)" : "";
      statusEl.textContent = "Face found" + extra + ". Answered in " + Math.round(msg.processing_ms) + " ms.";
    }
    const s = msg.stable;
    if (s && s.label) {
      const e = byName[s.label];
      stableEl.textContent = (e ? e.emoji + " " : "") + s.label;
      stableEl.dataset.label = s.label;
      placeDot(s.valence, s.arousal, "Valence " + s.valence.toFixed(2) + ", arousal " + s.arousal.toFixed(2) + " (from your expression)");
    }
  }

  async function start() {
    explain("");
    if (!cfg.cameraAllowed) { explain(CLOSE_REASONS[4403]); return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      explain("This browser cannot use a camera here (it needs a secure https connection and camera support). Use the buttons below instead.");
      return;
    }
    startBtn.disabled = true;
    statusEl.textContent = "Asking for camera permission…";
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: cfg.width }, height: { ideal: cfg.height } }, audio: false });
    } catch (err) {
      startBtn.disabled = false;
      statusEl.textContent = "";
      if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) {
        explain("The camera is off because camera permission was denied. Allow it in your browser's site settings and try again, or use the buttons below.");
      } else if (err && (err.name === "NotFoundError" || err.name === "OverconstrainedError" || err.name === "NotReadableError")) {
        explain("The camera is off because no usable camera was found on this device. Use the buttons below instead.");
      } else {
        explain("The camera could not be started (" + (err && err.name ? err.name : "unknown error") + "). Use the buttons below instead.");
      }
      return;
    }
    startBtn.disabled = false;
    video.srcObject = stream;
    setIndicator(true);
    openSocket();
  }

  startBtn.addEventListener("click", start);
  stopBtn.addEventListener("click", () => stop());
  window.addEventListener("pagehide", () => stop());
  if (cfg.cameraAllowed && !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
    explain("This browser cannot use a camera here (it needs a secure https connection and camera support). Use the buttons below instead.");
    startBtn.disabled = true;
  }

  // Self-report: the nine GEMS feelings, placed on the same circumplex.
  const gemsByName = Object.fromEntries(cfg.gems.map((g) => [g.name, g]));
  const buttons = document.querySelectorAll("[data-gems]");
  buttons.forEach((btn) => btn.addEventListener("click", () => {
    buttons.forEach((b) => b.setAttribute("aria-pressed", String(b === btn)));
    const g = gemsByName[btn.dataset.gems];
    $("self-report").textContent = "You said: " + g.label + ".";
    placeDot(g.valence, g.arousal, "Valence " + g.valence.toFixed(2) + ", arousal " + g.arousal.toFixed(2) + " (" + g.label + ", as you said)");
    try { sessionStorage.setItem("attune.selfReport", JSON.stringify({ gems: g.name, at: Date.now() })); } catch (e) { /* storage off */ }
  }));
})();
