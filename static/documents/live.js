/* Live document status for the list and document pages.
 *
 * A WebSocket to /ws/documents/ brings a snapshot on connect and then every change. When it
 * drops, it reconnects by itself with a growing pause (and gets a fresh snapshot); while it
 * is down, the page polls status.json so it never goes stale, and one failed request never
 * stops the polling. `window.exoraLive` exposes how the page is being kept current.
 */
(function () {
  "use strict";

  function seconds(value) {
    if (value < 90) return Math.max(1, Math.round(value)) + " s";
    return Math.round(value / 60) + " min";
  }

  // "#3 in queue, about 40 s to start (up to 70 s)", or the honest state instead of a number.
  function queueLine(state) {
    if (state.finished || state.position === null || state.position === undefined) {
      return state.message || "";
    }
    let line = "#" + state.position + " in queue";
    if (state.eta_seconds) {
      line += ", about " + seconds(state.eta_seconds.p50) + " to start";
      if (state.eta_seconds.p90 > state.eta_seconds.p50) line += " (up to " + seconds(state.eta_seconds.p90) + ")";
    }
    if (state.message) line += " — " + state.message;
    return line;
  }

  function toast(text, kind) {
    let box = document.getElementById("toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "toasts";
      document.body.appendChild(box);
    }
    const item = document.createElement("div");
    item.className = "toast " + (kind || "");
    item.setAttribute("role", "status");
    item.textContent = text;
    box.appendChild(item);
    setTimeout(() => item.remove(), 8000);
  }

  // A toast the page asked for just before reloading itself.
  try {
    const saved = sessionStorage.getItem("exora-toast");
    if (saved) {
      sessionStorage.removeItem("exora-toast");
      const parsed = JSON.parse(saved);
      toast(parsed.text, parsed.kind);
    }
  } catch (e) { /* storage unavailable: no toast */ }

  function start(options) {
    const live = {mode: "connecting", socketMessages: 0, polls: 0, reconnects: 0, states: {}};
    window.exoraLive = live;
    let socket = null;
    let backoff = 1000;
    let pollTimer = null;

    function apply(state) {
      const before = live.states[state.id];
      if (before && before.seq > state.seq && state.seq) return; // a late, older state
      live.states[state.id] = state;
      if (before && !before.finished && state.finished) {
        const done = state.status === "completed";
        const text = (options.nameOf(state.id) || "A document") + (done ? " is ready." : ": " + state.stage);
        options.onFinished(state, text, done ? "ok" : "error");
      }
      options.render(state, queueLine(state));
    }

    async function pollOnce() {
      for (const id of options.watched()) {
        try {
          const response = await fetch(options.statusUrl(id), {credentials: "same-origin"});
          if (!response.ok) continue;
          apply(await response.json());
        } catch (error) {
          // A network error: try again on the next round.
        }
      }
      live.polls += 1;
    }

    function startPolling() {
      if (pollTimer) return;
      const loop = async () => {
        await pollOnce();
        pollTimer = live.mode === "socket" ? null : setTimeout(loop, 2000);
      };
      pollTimer = setTimeout(loop, 0);
    }

    function connect() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      try {
        socket = new WebSocket(scheme + location.host + "/ws/documents/");
      } catch (error) {
        live.mode = "polling";
        startPolling();
        return;
      }
      socket.onopen = () => {
        live.mode = "socket";
        backoff = 1000;
        if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
      };
      socket.onmessage = (event) => {
        live.socketMessages += 1;
        try { apply(JSON.parse(event.data)); } catch (error) { /* one bad message */ }
      };
      socket.onclose = () => {
        live.mode = "polling";
        startPolling();
        live.reconnects += 1;
        setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 30000);
      };
    }

    connect();
    return live;
  }

  window.ExoraLive = {start: start, queueLine: queueLine, toast: toast};
})();
