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
const exportProgress = document.getElementById("export-progress");
const report = document.getElementById("report");
const reportLines = document.getElementById("report-lines");
const pinyinToggle = document.getElementById("show-pinyin");

const DRAFT_DELAY = 600; // ms of no typing before the text is spoken ahead of a re-take
const PROGRESS_EVERY = 300; // ms between export progress polls
const RENDER_EVERY = 700; // ms between state polls while the first render runs
const MEDIA_EVERY = 5000; // ms: the growing preview is loaded again at most this often
const WAITING = "Waiting for its clip: the first render is speaking the sentences in order.";
const NO_LEXICON = "start the studio with --lexicon FILE to save readings";
const NOT_EDITABLE = "This sentence is not written in the file as shown (markup or " +
  "placeholders in it): edit it in the file.";

let state = null;
let playing = null; // the index of the sentence under the playhead
let audioUrl = null;
let captionsUrl = null;
let exporting = false;
let loadedReady = 0; // the sentences the loaded preview holds
let loadedAt = 0; // when it was loaded (Date.now())
const failures = new Map(); // sentence index -> the last change's error
const draftTimers = new Map(); // sentence index -> the pending draft's timer
const drafts = new Map(); // sentence index -> the AbortController of its draft request
// the badge by an edit box: what became of its text, spoken ahead of the re-take
const AHEAD = {
  speaking: ["speaking ahead…", "The text as typed is being spoken, so that Re-take is quick"],
  ready: ["spoken ahead", "The text as typed is spoken: Re-take plays it at once"],
  failed: ["speaking ahead failed", ""],
  retaking: ["being spoken…", "Re-taking this sentence"],
};

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

function post(path, body, signal) {
  const init = { method: "POST", signal: signal };
  if (body !== undefined) {
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  return api(path, init);
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

function percent(rate) {
  return (rate > 0 ? "+" : "") + rate + "%";
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(className, text, title) {
  const node = element("button", className, text);
  node.type = "button";
  if (title) node.title = title;
  return node;
}

// a control with its visible label; data-field names it, data-initial holds what the state says
function labelled(className, caption, control, field, initial, index) {
  const wrapper = element("div", "field " + className);
  const label = element("label", "caption", caption);
  control.id = "sentence-" + index + "-" + field;
  label.htmlFor = control.id;
  const mark = element("span", "mark"); // shown when the sentence carries its own setting
  mark.setAttribute("aria-hidden", "true");
  label.append(mark);
  wrapper.append(label, control);
  control.dataset.field = field;
  control.dataset.initial = initial;
  return wrapper;
}

function numberInput(className, min, max, step, value, placeholder, title) {
  const input = element("input", className);
  input.type = "number";
  input.min = min;
  input.max = max;
  input.step = step;
  input.inputMode = "numeric";
  input.value = value;
  input.placeholder = placeholder;
  input.title = title;
  return input;
}

// what this sentence carries of its own, for its summary line
function ownSettings(sentence) {
  const settings = [];
  if (sentence.voice_set) settings.push(["voice", "voice " + sentence.voice]);
  if (sentence.rate_set) settings.push(["rate", "rate " + percent(sentence.rate)]);
  if (sentence.pause_set) settings.push(["pause", "pause " + sentence.pause + " ms"]);
  return settings;
}

function voiceSelect(sentence, number) {
  const select = element("select", "voice");
  const fallback = sentence.voice_set || !sentence.voice ? "" : " (" + sentence.voice + ")";
  const scriptDefault = element("option", "", "script default" + fallback);
  scriptDefault.value = "";
  select.append(scriptDefault);
  const voices = (state && state.voices) || [];
  for (const voice of voices) {
    const label = [voice.name, voice.gender].filter(Boolean).join(" · ");
    const option = element("option", "", label);
    option.value = voice.name;
    if (voice.description) option.title = voice.description;
    select.append(option);
  }
  if (sentence.voice_set && !voices.some((voice) => voice.name === sentence.voice)) {
    const option = element("option", "", sentence.voice);
    option.value = sentence.voice;
    select.append(option);
  }
  select.value = sentence.voice_set ? sentence.voice : "";
  select.title = "The voice of sentence " + number + "; script default: as the script says";
  return select;
}

function readingForm(sentence, number) {
  const form = element("form", "reading");
  form.setAttribute("aria-label", "Reading for sentence " + number);
  form.noValidate = true;
  const written = element("input", "reading-written");
  written.type = "text";
  written.placeholder = "as written";
  const spoken = element("input", "reading-spoken");
  spoken.type = "text";
  spoken.placeholder = "as spoken";
  spoken.title = "How to say it; empty: remove the reading";
  const save = button("save-reading", "Save reading");
  save.type = "submit";
  form.append(
    element("span", "caption legend", "Reading"),
    labelled("written-field", "written", written, "written", "", sentence.index),
    labelled("spoken-field", "spoken", spoken, "spoken", "", sentence.index),
    save,
  );
  if (!state || !state.lexicon) {
    for (const control of [written, spoken, save]) {
      control.disabled = true;
      control.title = NO_LEXICON;
    }
    save.dataset.idle = "disabled";
  } else {
    form.title = "Saved to " + state.lexicon + "; every sentence it changes is re-taken";
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!written.value.trim()) {
      written.focus();
      say("sentence " + number + ": write the word as written in the sentence", true);
      return;
    }
    change(sentence.index, "reading", { written: written.value.trim(), spoken: spoken.value.trim() });
  });
  return { form, written, spoken };
}

// the sentence's words as the offline engine reads them, each under its pinyin; a word the
// sentence holds as written can be clicked to fix its pinyin (a lexicon entry)
function pinyinLine(sentence, number) {
  const line = element("div", "pinyin");
  line.setAttribute("aria-label", "Pinyin of sentence " + number);
  const form = element("form", "pinyin-fix");
  form.hidden = true;
  form.noValidate = true;
  form.setAttribute("aria-label", "Fix the pinyin of a word in sentence " + number);
  const word = element("input", "pinyin-word");
  word.type = "text";
  word.placeholder = "word";
  word.setAttribute("aria-label", "Word, as written in sentence " + number);
  const syllables = element("input", "pinyin-syllables");
  syllables.type = "text";
  syllables.placeholder = "pinyin, e.g. hang2 or háng";
  syllables.title = "One syllable per character, tone numbers (5: neutral) or marks; " +
    "empty: remove the word's entry";
  syllables.setAttribute("aria-label", "Its pinyin");
  const save = button("save-pinyin", "Save pinyin");
  save.type = "submit";
  form.title = state && state.lexicon
    ? "Saved to " + state.lexicon + "; every sentence with the word is re-taken" : "";
  form.append(element("span", "caption legend", "Pinyin"), word, syllables, save);
  const fixable = Boolean(state && state.lexicon);
  for (const entry of sentence.words || []) {
    const ruby = element("ruby", "", entry.text);
    ruby.append(element("rt", "", entry.pinyin));
    let node;
    if (fixable && sentence.shown.includes(entry.text)) {
      node = button("word", undefined, "Fix the pinyin of " + entry.text);
      node.addEventListener("click", () => {
        form.hidden = false;
        word.value = entry.text;
        syllables.value = entry.pinyin;
        syllables.focus();
        syllables.select();
      });
    } else {
      node = element("span", "word");
      if (!fixable) node.title = NO_LEXICON;
    }
    node.append(ruby);
    line.append(node);
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!word.value.trim()) {
      word.focus();
      say("sentence " + number + ": write the word as written in the sentence", true);
      return;
    }
    change(sentence.index, "pinyin", { word: word.value.trim(), pinyin: syllables.value.trim() });
  });
  return [line, form];
}

function sentenceNode(sentence) {
  const number = sentence.index + 1;
  const editable = sentence.editable !== false;
  const item = element("li", "sentence");
  item.id = "sentence-" + sentence.index;
  item.dataset.index = sentence.index;
  item.dataset.start = sentence.start;
  item.dataset.end = sentence.end;
  item.dataset.hash = sentence.hash;
  item.dataset.ready = sentence.ready ? "true" : "false";
  if (!editable) item.classList.add("fixed");
  if (!sentence.ready) item.classList.add("waiting");

  const when = placed(sentence) ? clock(sentence.start) + "–" + clock(sentence.end) : "";
  const meta = element("div", "meta",
    "sentence " + number + " · line " + sentence.line + ", column " + sentence.column +
    (when ? " · " + when : ""));
  if (!sentence.ready) {
    const waiting = element("span", "setting waiting", "waiting for its clip");
    waiting.title = WAITING;
    meta.append(waiting);
  }
  for (const [kind, text] of ownSettings(sentence)) {
    meta.append(element("span", "setting own-" + kind, text));
  }
  if (!editable) {
    const fixed = element("span", "setting not-editable", "edit in the file");
    fixed.title = NOT_EDITABLE;
    meta.append(fixed);
  }
  item.append(meta);
  const shown = element("div", "shown", sentence.shown);
  shown.title = "Play from here";
  shown.addEventListener("click", () => playFrom(sentence.index));
  item.append(shown);
  if (sentence.spoken && sentence.spoken !== sentence.shown) {
    item.append(element("div", "spoken", "spoken: " + sentence.spoken));
  }
  if (sentence.words && sentence.words.length) item.append(...pinyinLine(sentence, number));
  const reading = readingForm(sentence, number);
  if (sentence.readings && sentence.readings.length) {
    const readings = element("ul", "readings");
    readings.append(element("li", "caption", "readings:"));
    readings.setAttribute("aria-label", "Lexicon readings in sentence " + number);
    for (const entry of sentence.readings) {
      const pick = button("reading-entry", entry.written + " → " + entry.spoken,
        "Edit this reading below");
      if (reading.written.disabled) {
        pick.disabled = true;
        pick.dataset.idle = "disabled";
        pick.title = NO_LEXICON;
      }
      pick.addEventListener("click", () => {
        reading.written.value = entry.written;
        reading.spoken.value = entry.spoken;
        reading.spoken.focus();
      });
      const line = element("li");
      line.append(pick);
      readings.append(line);
    }
    item.append(readings);
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
  const textRow = element("div", "row");
  const box = element("textarea", "edit");
  box.value = sentence.shown;
  box.rows = 2;
  box.dataset.field = "text";
  box.dataset.initial = sentence.shown;
  box.setAttribute("aria-label", "Text of sentence " + number);
  box.addEventListener("input", () => scheduleDraft(sentence));
  const retake = button("retake", "Re-take", "Speak sentence " + number + " again with the changes below");
  const ahead = element("span", "ahead");
  ahead.hidden = true;
  ahead.setAttribute("role", "status");
  const undo = button("undo", "Undo", "Undo the last change to sentence " + number);
  undo.addEventListener("click", () => change(sentence.index, "undo"));
  if (sentence.undo === false) {
    undo.dataset.idle = "disabled"; // no change of this sentence to undo yet
    undo.disabled = true;
  }
  textRow.append(box, retake, undo, ahead);

  const settings = element("div", "row settings");
  const voice = voiceSelect(sentence, number);
  const [rateLow, rateHigh] = state.limits.rate;
  const [pauseLow, pauseHigh] = state.limits.pause;
  const rate = numberInput("rate", rateLow, rateHigh, 1,
    sentence.rate_set ? String(sentence.rate) : "",
    sentence.rate_set || sentence.rate === undefined ? "" : percent(sentence.rate),
    rateLow + " to " + rateHigh + "; empty: the script's rate");
  const pause = numberInput("pause", pauseLow, pauseHigh, 50,
    sentence.pause_set ? String(sentence.pause) : "",
    sentence.pause_set || sentence.pause === undefined ? "" : String(sentence.pause),
    "Silence after this sentence, " + pauseLow + " to " + pauseHigh + " ms; empty: as the script says");
  const fields = [
    labelled("voice-field", "Voice", voice, "voice", voice.value, sentence.index),
    labelled("rate-field", "Rate %", rate, "rate", rate.value, sentence.index),
    labelled("pause-field", "Pause after (ms)", pause, "pause", pause.value, sentence.index),
  ];
  fields[0].classList.toggle("set", Boolean(sentence.voice_set));
  fields[1].classList.toggle("set", Boolean(sentence.rate_set));
  fields[2].classList.toggle("set", Boolean(sentence.pause_set));
  settings.append(...fields);

  const controls = { text: box, voice, rate, pause };
  retake.addEventListener("click", () => retakeChanged(sentence, controls));
  for (const input of [rate, pause]) {
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        retakeChanged(sentence, controls);
      }
    });
  }
  if (!editable) {
    for (const control of [box, voice, rate, pause, retake]) {
      control.disabled = true;
      control.title = NOT_EDITABLE;
    }
    retake.dataset.idle = "disabled";
  }

  settings.append(reading.form);
  editing.append(textRow, settings);
  item.append(editing);
  if (state && state.rendering) {
    // edits wait for the first render: the server would answer 409
    for (const node of item.querySelectorAll("button")) {
      node.disabled = true;
      node.dataset.idle = "disabled";
      node.title = "Edits can be made once every sentence has its clip";
    }
  }
  return item;
}

// the fields of one sentence that differ from what the state says: only they are sent
function changedFields(sentence, controls) {
  const body = {};
  if (controls.text.value.trim() !== sentence.shown) body.text = controls.text.value;
  const voice = controls.voice.value || null;
  if (voice !== (sentence.voice_set ? sentence.voice : null)) body.voice = voice;
  for (const name of ["rate", "pause"]) {
    const input = controls[name];
    if (input.validity.badInput) throw new Error(name + ": not a number");
    const value = input.value.trim() === "" ? null : Number(input.value);
    if (value !== (sentence[name + "_set"] ? sentence[name] : null)) body[name] = value;
  }
  return body;
}

function retakeChanged(sentence, controls) {
  let body;
  try {
    body = changedFields(sentence, controls);
  } catch (error) {
    say("sentence " + (sentence.index + 1) + ": " + error.message, true);
    return;
  }
  if (Object.keys(body).length === 0) {
    say("sentence " + (sentence.index + 1) + ": nothing changed to re-take.");
    return;
  }
  change(sentence.index, "retake", body);
}

function editBox(index) {
  return document.querySelector("#sentence-" + index + " .edit");
}

// kind: a key of AHEAD, or null for no badge; detail: its tooltip when not the usual one
function showAhead(index, kind, detail) {
  const badge = document.querySelector("#sentence-" + index + " .ahead");
  if (!badge) return;
  badge.className = "ahead" + (kind ? " " + kind : "");
  badge.textContent = kind ? AHEAD[kind][0] : "";
  badge.title = kind ? detail || AHEAD[kind][1] : "";
  badge.hidden = !kind;
}

// typing that pauses: the text is spoken ahead, so the re-take right after is fast; the
// server stops the sentence's earlier draft, and a re-take stops every draft it does not use
function scheduleDraft(sentence) {
  const index = sentence.index;
  clearTimeout(draftTimers.get(index));
  showAhead(index, null); // the text as it now is has not been spoken ahead
  draftTimers.set(index, setTimeout(() => {
    draftTimers.delete(index);
    sendDraft(sentence);
  }, DRAFT_DELAY));
}

async function sendDraft(sentence) {
  const index = sentence.index;
  const box = editBox(index);
  const text = box ? box.value.trim() : "";
  if (!text || text === sentence.shown) return;
  const controller = new AbortController();
  if (drafts.has(index)) drafts.get(index).abort();
  drafts.set(index, controller);
  showAhead(index, "speaking");
  let draft = null;
  try {
    const body = { text: text, version: state.version };
    const response = await post("/api/sentences/" + index + "/draft", body, controller.signal);
    if (response.ok) draft = (await response.json()).draft;
  } catch (error) {
    // aborted, or the studio is gone: the badge goes, the re-take still works
  }
  if (drafts.get(index) !== controller) return; // typed over, or the list drawn again
  drafts.delete(index);
  const current = editBox(index);
  const kind = draft && current && current.value.trim() === draft.text ? draft.state : null;
  showAhead(index, kind in AHEAD ? kind : null, draft && draft.error);
}

// what has been typed and not yet sent, by sentence, to survive a redraw of the list
function pendingEdits() {
  const pending = new Map();
  for (const item of list.querySelectorAll(".sentence")) {
    const fields = {};
    for (const control of item.querySelectorAll("[data-field]")) {
      if (control.value !== control.dataset.initial) fields[control.dataset.field] = control.value;
    }
    if (Object.keys(fields).length) pending.set(Number(item.dataset.index), fields);
  }
  return pending;
}

// a restored text is spoken ahead again (drafts end when the script changes)
function restoreEdits(pending) {
  for (const [index, fields] of pending) {
    const item = document.getElementById("sentence-" + index);
    if (!item) continue;
    for (const control of item.querySelectorAll("[data-field]")) {
      const value = fields[control.dataset.field];
      if (value !== undefined && !control.disabled) control.value = value;
    }
    if (fields.text !== undefined) scheduleDraft(find(index));
  }
}

// done: the sentence whose change went through (its own typing is now in the state)
function show(newState, done) {
  const pending = state && newState.sentences.length === state.sentences.length
    ? pendingEdits() : new Map();
  if (done !== undefined) pending.delete(done);
  for (const timer of draftTimers.values()) clearTimeout(timer);
  draftTimers.clear();
  for (const controller of drafts.values()) controller.abort();
  drafts.clear();
  state = newState;
  document.getElementById("source").textContent = state.source;
  const lexicon = document.getElementById("lexicon");
  lexicon.textContent = state.lexicon ? "· lexicon " + state.lexicon : "· " + NO_LEXICON;
  lexicon.classList.toggle("missing", !state.lexicon);
  document.body.dataset.version = state.version;
  list.replaceChildren(...state.sentences.map(sentenceNode));
  restoreEdits(pending);
  drawTimeline();
  markRendering();
}

// Export waits for the first render, which the body's data-rendering says is running
function markRendering() {
  const rendering = Boolean(state.rendering);
  document.body.dataset.rendering = rendering ? "true" : "false";
  if (rendering) exportButton.dataset.idle = "disabled";
  else delete exportButton.dataset.idle;
  exportButton.disabled = rendering || document.body.classList.contains("busy");
  exportButton.title = rendering ? "Export once every sentence has its clip" : "";
}

function drawTimeline() {
  const total = state.duration || 1;
  const segments = state.sentences.filter(placed).map((sentence) => {
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
  loadedReady = state ? state.ready : 0;
  loadedAt = Date.now();
  const [audioBlob, captionsBlob] = await Promise.all([audio.blob(), captions.blob()]);
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

// a sentence with its place in the preview (while the first render runs, the state gives
// the times of the sentences ready a moment ago)
function placed(sentence) {
  return sentence.ready && sentence.start !== null;
}

function find(index) {
  return state ? state.sentences.find((sentence) => sentence.index === index) : undefined;
}

async function playFrom(index) {
  let sentence = find(index);
  if (!sentence || !sentence.ready) return;
  if (index >= loadedReady || !placed(sentence)) { // ready since the preview was loaded
    try {
      await loadMedia();
      const response = await api("/api/state"); // the times of what the preview now holds
      const answer = response.ok ? await response.json() : null;
      if (answer && answer.rendering) showReadiness(answer); // else the render's end shows it
    } catch (error) {
      say(String(error), true);
      return;
    }
    sentence = find(index);
    if (!sentence || !placed(sentence)) return;
  }
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
    if (!placed(sentence)) break;
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
  for (const node of document.querySelectorAll("button")) {
    node.disabled = on || node.dataset.idle === "disabled";
  }
  document.body.classList.toggle("busy", on);
}

const ACTIONS = {
  retake: ["Re-taking", "Re-took"],
  undo: ["Undoing", "Undid"],
  reading: ["Saving a reading in", "Saved the reading in"],
  pinyin: ["Saving the pinyin of a word in", "Saved the pinyin of a word in"],
};

// the sentences whose clip changed between two states (same count), numbered from 1
function retaken(before, after) {
  if (!before || before.sentences.length !== after.sentences.length) return [];
  return after.sentences
    .filter((sentence, i) => sentence.hash !== before.sentences[i].hash)
    .map((sentence) => sentence.index + 1);
}

// sentences are numbered from 1 on the page, as in voicer's messages; the API counts from 0
async function change(index, action, body) {
  const number = index + 1;
  const [doing, done] = ACTIONS[action];
  busy(true);
  say(doing + " sentence " + number + "…");
  if (action === "retake") showAhead(index, "retaking");
  try {
    const response = await post("/api/sentences/" + index + "/" + action, body);
    const answer = await json(response);
    if (!response.ok) {
      let message = answer.error || "sentence " + number + ": " + response.status;
      const lexical = action === "reading" || action === "pinyin";
      if (lexical && !(answer.state || state).lexicon) message += " (" + NO_LEXICON + ")";
      failures.set(index, message);
      show(answer.state || state);
      say(message, true);
      return;
    }
    const before = state;
    failures.delete(index);
    const media = loadMedia(); // asked for now: the server makes it while the list is drawn
    show(answer, index);
    await media;
    let message = done + " sentence " + number + ".";
    if (action === "reading" || action === "pinyin") {
      const others = retaken(before, answer);
      message += others.length
        ? " Re-took sentence" + (others.length > 1 ? "s " : " ") + others.join(", ") + "."
        : " No sentence sounds different.";
    }
    say(message);
    await playFrom(index);
  } catch (error) {
    say(String(error), true);
  } finally {
    busy(false);
  }
}

function showProgress(progress) {
  exportProgress.hidden = false;
  const share = typeof progress.share === "number" ? Math.max(0, Math.min(1, progress.share)) : null;
  if (share === null) exportProgress.removeAttribute("value");
  else exportProgress.value = share;
  // the step usually says how far it is; the share alone when it does not
  if (progress.step) say("Exporting… " + progress.step);
  else say("Exporting…" + (share === null ? "" : " " + Math.round(100 * share) + "%"));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function followExport() {
  while (exporting) {
    await sleep(PROGRESS_EVERY);
    if (!exporting) return;
    try {
      const response = await api("/api/export/progress");
      if (!response.ok) continue;
      const progress = await response.json();
      if (exporting && progress.running) showProgress(progress);
    } catch (error) {
      // progress is a nicety: the export's own answer says how it went
    }
  }
}

async function exportOutputs() {
  busy(true);
  say("Exporting…");
  report.hidden = true;
  exportProgress.hidden = false;
  exportProgress.removeAttribute("value");
  exporting = true;
  followExport();
  try {
    const response = await api("/api/export", { method: "POST" });
    const answer = await json(response);
    exporting = false;
    if (!response.ok) {
      say("Export failed: " + (answer.error || response.status), true);
      return;
    }
    say("Wrote " + answer.written.join(", ") + " (" + clock(answer.duration) + ", " +
      answer.cues + " cues).");
    // as `voicer render` prints it: the subtitle warnings, then the report
    const lines = (answer.warnings || []).map((warning) => "warning: " + warning)
      .concat(answer.report || []);
    if (lines.length) {
      reportLines.textContent = lines.join("\n");
      report.hidden = false;
      report.open = true;
    }
  } catch (error) {
    say(String(error), true);
  } finally {
    exporting = false;
    exportProgress.hidden = true;
    busy(false);
  }
}

// the pinyin lines, shown or not (kept for the next visit)
function showPinyin(on) {
  pinyinToggle.checked = on;
  document.body.classList.toggle("no-pinyin", !on);
  try {
    window.localStorage.setItem("voicer-pinyin", on ? "shown" : "hidden");
  } catch (error) {
    // storage may be off: the choice lasts as long as the page
  }
}

function pinyinWanted() {
  try {
    return window.localStorage.getItem("voicer-pinyin") !== "hidden";
  } catch (error) {
    return true;
  }
}

function renderingSaid() {
  return "Rendering: " + state.ready + " of " + state.sentences.length + " sentences ready" +
    (state.ready ? " (" + clock(state.duration) + "); play them while the rest are spoken." : "…");
}

// the sentences whose readiness changed are drawn again, so typing elsewhere is kept
function showReadiness(newState) {
  const before = state;
  state = newState;
  newState.sentences.forEach((sentence, i) => {
    const was = before.sentences[i];
    if (sentence.ready === was.ready && sentence.start === was.start) return;
    const old = document.getElementById("sentence-" + sentence.index);
    if (old) old.replaceWith(sentenceNode(sentence));
  });
  drawTimeline();
}

// while the first render runs: the state, asked for again, says which sentences are ready;
// the preview is loaded again when more are ready, unless it is playing (then at its end)
async function followRender() {
  while (state.rendering && !state.render_error) {
    await sleep(RENDER_EVERY);
    let answer;
    try {
      const response = await api("/api/state");
      if (!response.ok) continue;
      answer = await response.json();
    } catch (error) {
      continue;
    }
    if (answer.render_error) {
      show(answer);
      say("The first render failed: " + answer.render_error, true);
      return;
    }
    if (!answer.rendering) {
      show(answer);
      if (player.paused) await loadMedia();
      say(state.sentences.length + " sentences, " + clock(state.duration) + ".");
      document.body.dataset.ready = "true";
      return;
    }
    if (answer.ready === state.ready && answer.duration === state.duration) continue;
    showReadiness(answer);
    const stale = !loadedReady || Date.now() - loadedAt >= MEDIA_EVERY;
    if (player.paused && stale) await loadMedia();
    say(renderingSaid());
  }
}

async function playOn() {
  if (!state || state.ready <= loadedReady) return;
  const time = player.currentTime;
  await loadMedia();
  player.currentTime = time;
  const started = player.play();
  if (started) started.catch(() => {});
}

async function start() {
  exportButton.addEventListener("click", exportOutputs);
  showPinyin(pinyinWanted());
  pinyinToggle.addEventListener("change", () => showPinyin(pinyinToggle.checked));
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
    if (state.render_error) {
      say("The first render failed: " + state.render_error, true);
      return;
    }
    if (state.ready) await loadMedia();
    if (state.rendering) {
      player.addEventListener("ended", playOn);
      say(renderingSaid());
      await followRender();
      return;
    }
    say(state.sentences.length + " sentences, " + clock(state.duration) + ".");
    document.body.dataset.ready = "true";
  } catch (error) {
    say(String(error), true);
  }
}

start();
