/* Mood instruments: GEMS buttons + a keyboard-operable valence/arousal pad with numeric inputs.
   Each fieldset[data-mood-prefix] is independent; the hidden <prefix>_source field records the
   instrument used last ("gems", "va" or "fer"), which the server reads. */
(function () {
  "use strict";
  const cfgEl = document.getElementById("listening-pad-config");
  if (!cfgEl) return;
  const cfg = JSON.parse(cfgEl.textContent);
  // Labels in the page's language (gettext() comes from the JavaScript catalog, jsi18n/).
  const gemsLabel = Object.fromEntries((cfg.gems || []).map((g) => [g.name, g.label]));
  const ferLabel = Object.fromEntries((cfg.expressions || []).map((e) => [e.name, e.label.toLowerCase()]));
  const STEP = 0.05;
  const clamp = (x) => Math.max(-1, Math.min(1, x));
  const round = (x) => Math.round(x * 100) / 100;
  const words = (v, a) => interpolate(gettext("%(valence)s and %(arousal)s"), {
    valence: v > 0.2 ? gettext("pleasant") : v < -0.2 ? gettext("unpleasant") : gettext("neutral"),
    arousal: a > 0.2 ? gettext("energetic") : a < -0.2 ? gettext("calm") : gettext("moderately active"),
  }, true);
  const gemsWords = (chosen) => chosen.map((b) => gemsLabel[b.value] || b.value).join(", ");
  const ferWords = (name) => interpolate(gettext("your expression: %s"), [ferLabel[name] || name]);

  function setup(fs) {
    const q = (role) => fs.querySelector('[data-role="' + role + '"]');
    const pad = q("pad"), dot = q("dot"), vIn = q("valence"), aIn = q("arousal");
    const source = q("source"), fer = q("fer"), summary = q("summary");
    const boxes = fs.querySelectorAll('input[type="checkbox"]');

    function show(v, a, why) {
      dot.hidden = false;
      dot.style.left = ((v + 1) / 2 * 100) + "%";
      dot.style.top = ((1 - (a + 1) / 2) * 100) + "%";
      const text = interpolate(gettext("valence %(valence)s, arousal %(arousal)s: %(words)s"),
        { valence: v.toFixed(2), arousal: a.toFixed(2), words: words(v, a) }, true) + (why ? " (" + why + ")" : "");
      pad.setAttribute("aria-valuetext", text);
      pad.setAttribute("aria-valuenow", v.toFixed(2));
      summary.textContent = interpolate(gettext("Your point: %s."), [text]);
    }
    function setVA(v, a, src, why) {
      v = round(clamp(v)); a = round(clamp(a));
      vIn.value = v; aIn.value = a;
      if (src) source.value = src;
      show(v, a, why);
    }
    function current() {
      const v = parseFloat(vIn.value), a = parseFloat(aIn.value);
      return [isFinite(v) ? v : 0, isFinite(a) ? a : 0];
    }
    boxes.forEach((box) => {
      box.addEventListener("change", () => {
        box.closest("label").classList.toggle("chosen", box.checked);
        const chosen = Array.from(boxes).filter((b) => b.checked);
        if (!chosen.length) { source.value = vIn.value !== "" ? "va" : ""; return; }
        let v = 0, a = 0;
        chosen.forEach((b) => { v += parseFloat(b.dataset.valence); a += parseFloat(b.dataset.arousal); });
        setVA(v / chosen.length, a / chosen.length, "gems", gemsWords(chosen));
      });
    });
    function fromPointer(ev) {
      const r = pad.getBoundingClientRect();
      const v = ((ev.clientX - r.left) / r.width) * 2 - 1;
      const a = 1 - ((ev.clientY - r.top) / r.height) * 2;
      setVA(v, a, "va");
    }
    let dragging = false;
    pad.addEventListener("pointerdown", (ev) => { dragging = true; pad.setPointerCapture(ev.pointerId); fromPointer(ev); });
    pad.addEventListener("pointermove", (ev) => { if (dragging) fromPointer(ev); });
    pad.addEventListener("pointerup", () => { dragging = false; });
    pad.addEventListener("keydown", (ev) => {
      let [v, a] = current();
      const step = ev.shiftKey ? STEP * 4 : STEP;
      if (ev.key === "ArrowLeft") v -= step;
      else if (ev.key === "ArrowRight") v += step;
      else if (ev.key === "ArrowUp") a += step;
      else if (ev.key === "ArrowDown") a -= step;
      else if (ev.key === "Home") { v = 0; a = 0; }
      else return;
      ev.preventDefault();
      setVA(v, a, "va");
    });
    [vIn, aIn].forEach((inp) => inp.addEventListener("input", () => {
      const v = parseFloat(vIn.value), a = parseFloat(aIn.value);
      if (isFinite(v) && isFinite(a)) { source.value = "va"; show(clamp(v), clamp(a)); }
    }));
    // A page shown again after an error carries what the person entered: show it as it was.
    boxes.forEach((box) => box.closest("label").classList.toggle("chosen", box.checked));
    const v0 = parseFloat(vIn.value), a0 = parseFloat(aIn.value);
    const chosen0 = Array.from(boxes).filter((b) => b.checked);
    if (isFinite(v0) && isFinite(a0)) show(clamp(v0), clamp(a0), fer.value ? ferWords(fer.value) : "");
    else if (chosen0.length) {
      let v = 0, a = 0;
      chosen0.forEach((b) => { v += parseFloat(b.dataset.valence); a += parseFloat(b.dataset.arousal); });
      setVA(v / chosen0.length, a / chosen0.length, "", gemsWords(chosen0));
    }
    // The webcam panel (webcam.js) offers its reading through this event.
    fs.addEventListener("listening:fer", (ev) => {
      fer.value = ev.detail.label;
      setVA(ev.detail.valence, ev.detail.arousal, "fer", ferWords(ev.detail.label));
    });
  }
  document.querySelectorAll("[data-mood-prefix]").forEach(setup);

  // Desired mood: only shown when the person wants to state it.
  const desired = document.getElementById("desired-instrument");
  if (desired) {
    const radios = document.querySelectorAll('input[name="desired_choice"]');
    const sync = () => { desired.hidden = !document.querySelector('input[name="desired_choice"][value="state"]').checked; };
    radios.forEach((r) => r.addEventListener("change", sync));
    sync();
  }
})();
