// Live refresh of /ops/ by short polling. The server computes the figures once per interval
// for everyone and renders the sections (escaped); this only swaps them in. It polls only
// while the tab is visible, and at once when the tab comes back.
(function () {
  "use strict";
  const live = document.getElementById("ops-live");
  if (!live) return;
  const url = live.dataset.url;
  const interval = Math.max(Number(live.dataset.refreshSeconds) || 5, 1) * 1000;
  const state = document.getElementById("ops-refresh-state");
  const stamp = document.getElementById("ops-computed-at");
  let timer = null;
  let inFlight = false;
  // How many polls were sent: lets a test see that a hidden tab sends none.
  window.exoraOps = { polls: 0 };

  function setState(text) { if (state) state.textContent = text; }

  async function refresh() {
    timer = null;
    if (document.visibilityState !== "visible" || inFlight) return;
    inFlight = true;
    window.exoraOps.polls += 1;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const body = await response.json();
      // Keep the operator's place: only replace the markup when the figures changed.
      if (live.dataset.computedAt !== body.computed_at) {
        const openDetails = [...live.querySelectorAll("details[open] summary")].map((s) => s.textContent);
        live.innerHTML = body.html;
        live.querySelectorAll("details summary").forEach((s) => {
          if (openDetails.includes(s.textContent)) s.parentElement.open = true;
        });
        live.dataset.computedAt = body.computed_at;
        const summary = document.getElementById("ops-summary");
        if (stamp && summary) stamp.textContent = summary.dataset.computedLabel;
      }
      setState("live");
    } catch (error) {
      setState("refresh failed, retrying");
    } finally {
      inFlight = false;
      schedule();
    }
  }

  function schedule() {
    if (timer === null && document.visibilityState === "visible") timer = window.setTimeout(refresh, interval);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      setState("live");
      if (timer !== null) { window.clearTimeout(timer); timer = null; }
      refresh();
    } else {
      // Hidden: stop polling altogether rather than slowing down.
      if (timer !== null) { window.clearTimeout(timer); timer = null; }
      setState("paused while hidden");
    }
  });
  schedule();
})();
