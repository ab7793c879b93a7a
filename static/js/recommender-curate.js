/* Curating a playlist by hand: search the catalog, add tracks, remove them and reorder them with
   Up/Down buttons (all real buttons, so keyboard and screen-reader operable). The ordered list
   holds hidden <input name="track_ids"> fields that the form posts. */
(function () {
  "use strict";
  const root = document.getElementById("curate");
  if (!root) return;
  const query = document.getElementById("curate-query");
  const searchBtn = document.getElementById("curate-search");
  const results = document.getElementById("curate-results");
  const list = document.getElementById("curate-list");
  const status = document.getElementById("curate-status");

  function say(text) { status.textContent = text; }
  function chosenIds() {
    return Array.from(list.querySelectorAll('input[name="track_ids"]')).map((i) => i.value);
  }
  function button(label, text, onClick, testid) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "button secondary";
    b.textContent = text;
    b.setAttribute("aria-label", label);
    if (testid) b.dataset.testid = testid;
    b.addEventListener("click", onClick);
    return b;
  }
  function decorate(li) {
    if (li.querySelector(".curate-controls")) return;
    const title = li.querySelector(".curate-title").textContent;
    const controls = document.createElement("span");
    controls.className = "curate-controls";
    controls.append(
      button(interpolate(gettext("Move %s up"), [title]), gettext("Up"), () => {
        const prev = li.previousElementSibling;
        if (prev) { list.insertBefore(li, prev); say(interpolate(gettext("%s moved up."), [title])); li.querySelector("button").focus(); }
      }, "curate-up-" + li.dataset.trackId),
      button(interpolate(gettext("Move %s down"), [title]), gettext("Down"), () => {
        const next = li.nextElementSibling;
        if (next) { list.insertBefore(next, li); say(interpolate(gettext("%s moved down."), [title])); li.querySelectorAll("button")[1].focus(); }
      }, "curate-down-" + li.dataset.trackId),
      button(interpolate(gettext("Remove %s"), [title]), gettext("Remove"), () => {
        li.remove(); say(interpolate(gettext("%s removed."), [title])); query.focus();
      }, "curate-remove-" + li.dataset.trackId),
    );
    li.append(" ", controls);
  }
  function add(track) {
    if (chosenIds().includes(String(track.id))) { say(interpolate(gettext("%s is already in the playlist."), [track.label])); return; }
    const li = document.createElement("li");
    li.dataset.trackId = track.id;
    const input = document.createElement("input");
    input.type = "hidden"; input.name = "track_ids"; input.value = track.id;
    const span = document.createElement("span");
    span.className = "curate-title"; span.textContent = track.label;
    li.append(input, span);
    list.append(li);
    decorate(li);
    say(interpolate(gettext("%(track)s added (%(count)s in the playlist)."), { track: track.label, count: list.children.length }, true));
  }
  async function search() {
    const q = query.value.trim();
    results.replaceChildren();
    if (!q) { say(gettext("Type something to search for.")); return; }
    say(gettext("Searching…"));
    let data;
    try {
      const response = await fetch(root.dataset.searchUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin" });
      data = await response.json();
      if (!response.ok) { say(data.detail || gettext("The search failed.")); return; }
    } catch (e) { say(gettext("The search failed; try again.")); return; }
    for (const track of data.results) {
      const li = document.createElement("li");
      li.append(track.label + (track.genre ? " · " + track.genre : "") + " ");
      li.append(button(interpolate(gettext("Add %s"), [track.label]), gettext("Add"), () => add(track), "curate-add-" + track.id));
      results.append(li);
    }
    say(data.results.length ? interpolate(ngettext("%s track found.", "%s tracks found.", data.results.length), [data.results.length]) : gettext("No track matches."));
  }
  searchBtn.addEventListener("click", search);
  query.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); search(); } });
  list.querySelectorAll("li").forEach(decorate);
})();
