/* My documents: uploads through the API (drop or choose files), and every row kept current.
 * A file of its own, so the page needs no inline script (the content security policy allows none). */
(function () {
  const form = document.getElementById("upload-form");
  const input = document.getElementById("file-input");
  const log = document.getElementById("upload-log");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const emailOnFinish = document.getElementById("email-on-finish");
  if (emailOnFinish) emailOnFinish.addEventListener("change", () => emailOnFinish.form.submit());

  async function send(files) {
    for (const file of files) {
      const item = document.createElement("li");
      item.textContent = file.name + ": uploading…";
      log.appendChild(item);
      const body = new FormData();
      body.append("file", file);
      const response = await fetch(form.dataset.apiUrl, {
        method: "POST", body: body, headers: {"X-CSRFToken": csrf}, credentials: "same-origin",
      });
      const data = await response.json().catch(() => ({}));
      item.textContent = file.name + ": " + (response.ok ? "queued" : (data.detail || data.file || "upload failed"));
      item.className = response.ok ? "ok" : "error";
      // A busy service says how long the wait is: shown once the page has reloaded.
      if (response.ok && data.notice) {
        try { sessionStorage.setItem("exora-toast", JSON.stringify({text: data.notice, kind: ""})); } catch (e) { /* no storage */ }
      }
    }
    window.location.reload();
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); send(input.files); });
  ["dragenter", "dragover"].forEach((name) => form.addEventListener(name, (event) => {
    event.preventDefault(); form.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => form.addEventListener(name, (event) => {
    event.preventDefault(); form.classList.remove("over");
  }));
  form.addEventListener("drop", (event) => send(event.dataTransfer.files));

  // Keep every row current: over the socket, or by polling while the socket is down.
  const rowOf = (id) => document.querySelector(`#documents tr[data-id="${id}"]`);
  window.ExoraLive.start({
    watched: () => Array.from(document.querySelectorAll("#documents tr[data-finished='0']")).map((r) => r.dataset.id),
    statusUrl: (id) => "/documents/" + id + "/status.json",
    nameOf: (id) => { const row = rowOf(id); return row ? row.querySelector("a").textContent : null; },
    onFinished: (state, text, kind) => window.ExoraLive.toast(text, kind),
    render: (state, queueLine) => {
      const row = rowOf(state.id);
      if (!row) return;
      const status = row.querySelector(".status");
      status.textContent = state.stage;
      status.className = "status status-" + state.status;
      row.querySelector(".queue").textContent = queueLine;
      const bar = row.querySelector("progress");
      if (state.pages_total) {
        bar.max = state.pages_total;
        row.querySelector(".pages").textContent = state.pages_done + " / " + state.pages_total;
      }
      bar.value = state.pages_done;
      row.dataset.finished = state.finished ? "1" : "0";
    },
  });
})();
