/* The small webcam panel of the listening pages: camera frames -> ws/emotion/ -> the stable
   expression. On the start page ("check") the reading can become the current mood; on the
   player ("trace") the socket attaches the session so per-second summaries are stored
   (the server records only with the emotion_trace consent). Frames are never stored. */
(function () {
  "use strict";
  const cfgEl = document.getElementById("listening-webcam-config");
  const panel = document.querySelector("[data-webcam-mode]");
  if (!cfgEl || !panel) return;
  const cfg = JSON.parse(cfgEl.textContent);
  if (!cfg.cameraAllowed) return;
  const q = (role) => panel.querySelector('[data-role="' + role + '"]');
  const startBtn = q("cam-start"), stopBtn = q("cam-stop"), statusEl = q("cam-status");
  const video = q("cam-video"), stableEl = q("cam-stable"), useBtn = q("cam-use");
  const mode = panel.dataset.webcamMode;
  const canvas = document.createElement("canvas");
  canvas.width = cfg.width; canvas.height = cfg.height;
  let stream = null, socket = null, timer = null, inFlight = false, stable = null;

  function stop(message) {
    if (timer) clearInterval(timer);
    timer = null;
    if (socket) { try { socket.close(); } catch (e) { /* closed */ } }
    socket = null;
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.hidden = true; stopBtn.hidden = true; startBtn.hidden = false;
    statusEl.textContent = message || "Camera off.";
  }
  function send() {
    if (!socket || socket.readyState !== WebSocket.OPEN || !video.videoWidth || inFlight) return;
    canvas.getContext("2d").drawImage(video, 0, 0, cfg.width, cfg.height);
    canvas.toBlob((blob) => {
      if (!blob || !socket || socket.readyState !== WebSocket.OPEN) return;
      inFlight = true;
      socket.send(blob);
    }, "image/jpeg", 0.7);
  }
  function open() {
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + cfg.wsPath);
    socket.onopen = () => {
      statusEl.textContent = "Camera on. Looking for a face…";
      if (mode === "trace" && cfg.traceRef) socket.send(JSON.stringify({ type: "attach", session: cfg.traceRef }));
      timer = setInterval(send, Math.round(1000 / cfg.fps));
    };
    socket.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.type === "result") {
        inFlight = false;
        if (!msg.faces.length) statusEl.textContent = "No face in view.";
        else statusEl.textContent = "Face found.";
        if (msg.stable && msg.stable.label) {
          stable = msg.stable;
          stableEl.textContent = msg.stable.label;
          if (useBtn) useBtn.disabled = false;
        }
      } else if (msg.type === "attached") {
        statusEl.textContent = msg.recording ? "Camera on; one summary per second is saved with this session." : (msg.reason || "Nothing is saved.");
      } else if (msg.type === "error") {
        if (msg.frame) inFlight = false;
        if (msg.close_code) stop(msg.error);
      } else if (msg.type === "dropped") {
        inFlight = false;
      }
    };
    socket.onclose = () => { if (stream) stop("The camera connection closed."); };
  }
  startBtn.addEventListener("click", async () => {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      statusEl.textContent = "This browser cannot use a camera here.";
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: cfg.width }, height: { ideal: cfg.height } }, audio: false });
    } catch (e) {
      statusEl.textContent = "The camera could not start (" + e.name + ").";
      return;
    }
    video.srcObject = stream; video.hidden = false;
    startBtn.hidden = true; stopBtn.hidden = false;
    open();
  });
  stopBtn.addEventListener("click", () => stop());
  if (useBtn) {
    useBtn.addEventListener("click", () => {
      if (!stable) return;
      const target = document.querySelector('[data-mood-prefix="current"]');
      target.dispatchEvent(new CustomEvent("listening:fer", { detail: { label: stable.label, valence: stable.valence, arousal: stable.arousal } }));
      useBtn.textContent = "Used: " + stable.label;
    });
  }
  window.addEventListener("pagehide", () => stop());
})();
