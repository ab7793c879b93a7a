// Plays a playlist's tracks one after another: when one ends, the next starts.
(function () {
  "use strict";
  const players = Array.from(document.querySelectorAll(".playlist-tracks audio"));
  players.forEach((audio, i) => {
    audio.addEventListener("play", () => {
      players.forEach((other) => { if (other !== audio) other.pause(); });
    });
    audio.addEventListener("ended", () => {
      const next = players[i + 1];
      if (next) { next.play().catch(() => {}); next.closest("li").scrollIntoView({ block: "nearest" }); }
    });
  });
})();
