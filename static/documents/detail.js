/* One document's page: its status kept current until it finishes, and records outlined on
 * their page images. A file of its own: the content security policy allows no inline script. */
(function () {
  const summary = document.getElementById("summary");
  if (summary.dataset.finished === "1") return;
  const id = summary.dataset.id;
  let reloading = false;
  window.ExoraLive.start({
    watched: () => (reloading ? [] : [id]),
    statusUrl: () => "status.json",
    nameOf: () => document.querySelector("h1").textContent,
    onFinished: (state, text, kind) => {
      // Shown again after the reload that brings the pages' text.
      try { sessionStorage.setItem("exora-toast", JSON.stringify({text: text, kind: kind})); } catch (e) {}
      window.ExoraLive.toast(text, kind);
    },
    render: (state, queueLine) => {
      if (state.id !== id || reloading) return;
      const status = document.getElementById("status");
      status.textContent = state.stage;
      status.className = "status status-" + state.status;
      document.getElementById("queue-line").textContent = queueLine;
      const progress = document.getElementById("progress");
      if (state.pages_total) { progress.max = state.pages_total; }
      progress.value = state.pages_done;
      document.getElementById("pages-count").textContent = state.pages_done + " / " + (state.pages_total || "?") + " pages";
      if (state.finished) { reloading = true; window.location.reload(); }
    },
  });
})();

// Clicking a record outlines the words it was read from on its page image. Boxes are in
// page pixels of a width x height page, so they are placed in percent of the image.
(function () {
  const data = document.getElementById("record-boxes");
  if (!data) return;
  const boxes = JSON.parse(data.textContent);
  function show(row) {
    document.querySelectorAll(".record.selected").forEach((r) => r.classList.remove("selected"));
    document.querySelectorAll(".highlight").forEach((h) => h.remove());
    const record = boxes[row.dataset.record];
    if (!record || !record.page) return;
    row.classList.add("selected");
    const holder = document.querySelector('.page-image[data-page="' + record.page + '"]');
    if (!holder) return;
    const width = Number(holder.dataset.width), height = Number(holder.dataset.height);
    if (width && height) {
      record.boxes.forEach((box) => {
        const outline = document.createElement("div");
        outline.className = "highlight";
        outline.style.left = (100 * box[0] / width) + "%";
        outline.style.top = (100 * box[1] / height) + "%";
        outline.style.width = (100 * (box[2] - box[0]) / width) + "%";
        outline.style.height = (100 * (box[3] - box[1]) / height) + "%";
        holder.appendChild(outline);
      });
    }
    (holder.querySelector(".highlight") || holder).scrollIntoView({behavior: "smooth", block: "center"});
  }
  document.querySelectorAll(".record[data-record]").forEach((row) => {
    row.addEventListener("click", () => show(row));
    row.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); show(row); } });
  });
})();
