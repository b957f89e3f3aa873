// voicer studio: the sentences of a speech, its preview and captions, re-takes and export.
// The token comes from this page's address; the API wants it in the X-Voicer-Token header.
// The audio and its captions are fetched with that header and played from blob: URLs.
"use strict";

const token = new URLSearchParams(window.location.search).get("token") || "";
const player = document.getElementById("player");
const list = document.getElementById("sentences");
const timeline = document.getElementById("timeline");
const playhead = document.getElementById("playhead");
const statusLine = document.getElementById("status");
const exportButton = document.getElementById("export");

let state = null;
let playing = null; // the index of the sentence under the playhead
let audioUrl = null;
let captionsUrl = null;
const failures = new Map(); // sentence index -> the last re-take's error

function say(message, bad) {
  statusLine.textContent = message;
  statusLine.classList.toggle("bad", Boolean(bad));
}

async function api(path, options) {
  const init = Object.assign({ headers: {} }, options || {});
  init.headers["X-Voicer-Token"] = token;
  const response = await fetch(path, init);
  return response;
}

async function json(response) {
  try {
    return await response.json();
  } catch (error) {
    return { error: response.status + " " + response.statusText };
  }
}

function clock(seconds) {
  const minutes = Math.floor(seconds / 60);
  const rest = (seconds - minutes * 60).toFixed(2).padStart(5, "0");
  return minutes + ":" + rest;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function sentenceNode(sentence) {
  const item = element("li", "sentence");
  item.id = "sentence-" + sentence.index;
  item.dataset.index = sentence.index;
  item.dataset.start = sentence.start;
  item.dataset.end = sentence.end;
  item.dataset.hash = sentence.hash;

  item.append(element("div", "meta",
    "sentence " + (sentence.index + 1) + " · line " + sentence.line + ", column " + sentence.column +
    " · " + clock(sentence.start) + "–" + clock(sentence.end)));
  const shown = element("div", "shown", sentence.shown);
  shown.title = "Play from here";
  shown.addEventListener("click", () => playFrom(sentence.index));
  item.append(shown);
  if (sentence.spoken && sentence.spoken !== sentence.shown) {
    item.append(element("div", "spoken", "spoken: " + sentence.spoken));
  }
  if (sentence.cues && sentence.cues.length) {
    const cues = element("ul", "cues");
    for (const cue of sentence.cues) {
      const line = element("li", "cue", clock(cue.start) + " " + cue.lines.join(" / "));
      cues.append(line);
    }
    item.append(cues);
  }
  if (sentence.findings && sentence.findings.length) {
    const findings = element("ul", "findings");
    for (const finding of sentence.findings) {
      // what `voicer check` says about this sentence: severity, and the message at its text
      const node = element("li", `finding ${finding.severity}`, `${finding.severity}: ${finding.message}`);
      findings.append(node);
    }
    item.append(findings);
  }
  const error = sentence.error || failures.get(sentence.index);
  if (error) {
    item.classList.add("failed");
    item.append(element("p", "error", error));
  }

  const editing = element("div", "editing");
  const box = element("textarea", "edit");
  box.value = sentence.shown;
  box.rows = 2;
  box.setAttribute("aria-label", "Text of sentence " + (sentence.index + 1));
  const retake = element("button", "retake", "Re-take");
  retake.type = "button";
  retake.addEventListener("click", () => edit(sentence.index, "retake", box.value));
  const undo = element("button", "undo", "Undo");
  undo.type = "button";
  undo.addEventListener("click", () => edit(sentence.index, "undo"));
  if (sentence.undo === false) {
    undo.dataset.idle = "disabled"; // no re-take of this sentence to undo yet
    undo.disabled = true;
  }
  editing.append(box, retake, undo);
  item.append(editing);
  return item;
}

function show(newState) {
  state = newState;
  document.getElementById("source").textContent = state.source;
  document.body.dataset.version = state.version;
  list.replaceChildren(...state.sentences.map(sentenceNode));
  const total = state.duration || 1;
  const segments = state.sentences.map((sentence) => {
    const segment = element("div", "segment");
    segment.dataset.index = sentence.index;
    segment.style.left = (100 * sentence.start / total) + "%";
    segment.style.width = Math.max(0.2, 100 * (sentence.end - sentence.start) / total) + "%";
    segment.title = sentence.shown;
    if (sentence.error || failures.has(sentence.index)) segment.classList.add("failed");
    segment.addEventListener("click", () => playFrom(sentence.index));
    return segment;
  });
  timeline.replaceChildren(...segments, playhead);
  playing = null;
  highlight();
}

async function loadMedia() {
  const [audio, captions] = await Promise.all([
    api("/api/preview.wav"), api("/api/captions.vtt"),
  ]);
  if (!audio.ok || !captions.ok) throw new Error("the preview could not be loaded");
  const audioBlob = new Blob([await audio.arrayBuffer()], { type: "audio/wav" });
  const captionsBlob = new Blob([await captions.arrayBuffer()], { type: "text/vtt" });
  if (audioUrl) URL.revokeObjectURL(audioUrl);
  if (captionsUrl) URL.revokeObjectURL(captionsUrl);
  audioUrl = URL.createObjectURL(audioBlob);
  captionsUrl = URL.createObjectURL(captionsBlob);
  // a track's cues are read once, so a new track element replaces the old one
  const old = document.getElementById("captions");
  const track = document.createElement("track");
  track.id = "captions";
  track.kind = "captions";
  track.label = "Captions";
  track.srclang = document.documentElement.lang;
  track.default = true;
  track.src = captionsUrl;
  if (old) old.remove();
  player.append(track);
  const loaded = new Promise((resolve) => {
    player.addEventListener("loadedmetadata", resolve, { once: true });
    player.addEventListener("error", resolve, { once: true });
  });
  player.src = audioUrl;
  player.load();
  await loaded;
  if (track.track) track.track.mode = "showing";
}

function find(index) {
  return state ? state.sentences.find((sentence) => sentence.index === index) : undefined;
}

function playFrom(index) {
  const sentence = find(index);
  if (!sentence) return;
  player.currentTime = sentence.start;
  const started = player.play();
  if (started) started.catch(() => {});
  highlight();
}

function highlight() {
  if (!state) return;
  const time = player.currentTime;
  const total = state.duration || 1;
  playhead.style.left = Math.min(100, 100 * time / total) + "%";
  let current = null;
  for (const sentence of state.sentences) {
    if (sentence.start <= time + 0.001) current = sentence.index;
    if (sentence.start > time) break;
  }
  if (current === playing) return;
  playing = current;
  for (const node of document.querySelectorAll(".playing")) node.classList.remove("playing");
  if (current === null) return;
  const item = document.getElementById("sentence-" + current);
  if (item) {
    item.classList.add("playing");
    if (!player.paused) item.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
  const segment = timeline.querySelector('.segment[data-index="' + current + '"]');
  if (segment) segment.classList.add("playing");
}

function busy(on) {
  for (const button of document.querySelectorAll("button")) {
    button.disabled = on || button.dataset.idle === "disabled";
  }
  document.body.classList.toggle("busy", on);
}

// sentences are numbered from 1 on the page, as in voicer's messages; the API counts from 0
async function edit(index, action, text) {
  const number = index + 1;
  busy(true);
  say((action === "retake" ? "Re-taking" : "Undoing") + " sentence " + number + "…");
  try {
    const response = await api("/api/sentences/" + index + "/" + action, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: action === "retake" ? JSON.stringify({ text: text }) : undefined,
    });
    const answer = await json(response);
    if (!response.ok) {
      failures.set(index, answer.error || "failed");
      if (answer.state) show(answer.state);
      else show(state);
      say(answer.error || "sentence " + number + ": " + response.status, true);
      return;
    }
    failures.delete(index);
    show(answer);
    await loadMedia();
    say((action === "retake" ? "Re-took" : "Undid") + " sentence " + number + ".");
    playFrom(index);
  } catch (error) {
    say(String(error), true);
  } finally {
    busy(false);
  }
}

async function exportOutputs() {
  busy(true);
  say("Exporting…");
  try {
    const response = await api("/api/export", { method: "POST" });
    const answer = await json(response);
    if (!response.ok) {
      say("Export failed: " + (answer.error || response.status), true);
      return;
    }
    say("Wrote " + answer.written.join(", ") + " (" + clock(answer.duration) + ", " +
      answer.cues + " cues).");
  } catch (error) {
    say(String(error), true);
  } finally {
    busy(false);
  }
}

async function start() {
  exportButton.addEventListener("click", exportOutputs);
  player.addEventListener("timeupdate", highlight);
  player.addEventListener("seeked", highlight);
  try {
    const response = await api("/api/state");
    const answer = await json(response);
    if (!response.ok) {
      say(answer.error || "the studio refused this page", true);
      return;
    }
    show(answer);
    await loadMedia();
    say(state.sentences.length + " sentences, " + clock(state.duration) + ".");
    document.body.dataset.ready = "true";
  } catch (error) {
    say(String(error), true);
  }
}

start();
