// The page: loads MNIST and the wasm engine, then trains in steps between animation
// frames, redrawing the grid and the chart as it goes. Every call into the engine
// is awaited before the next.
//
// ?test=NAME runs a fixed script for the end-to-end test instead of waiting for the
// Start button (see runTest: ?fd=N also scores N samples against N test images),
// POSTing NAME.json (the logged rows), NAME.safetensors
// and NAME-grid.png to the server that served the page (scripts/serve.py keeps them).

import init, { Settings, WebTrainer } from "./pkg/duel_web.js";
import { fetchBytes, loadMnist, post } from "./common.js";

// Steps trained between two looks at the losses, and between grid redraws.
const STEPS_PER_READ = 5;
const GRID_EVERY = 25;
// The last checkpoint is kept in memory this often (and at every pause), to survive
// a lost device.
const KEEP_EVERY = 50;
const FD_SAMPLES = 2000;
const FD_REFERENCE = 2000;

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = {
  trainer: null, running: false, kept: null, keptStep: 0, mnist: null,
  // Steps trained since the page started or loaded a checkpoint, and their seconds.
  trainedHere: 0, trainSeconds: 0,
};
window.duel = state;

function showError(text) {
  const box = $("error");
  box.hidden = false;
  box.textContent = text;
  if (state.kept) {
    box.textContent += `\nThe checkpoint of step ${state.keptStep} is kept: "Download checkpoint" saves it.`;
  }
}

function say(text) {
  $("status").textContent = text;
}

function readSettings() {
  const form = $("settings").elements;
  const s = new Settings();
  s.loss = form.loss.value;
  s.conditional = form.conditional.checked;
  s.ema = Number(form.ema.value);
  s.batch_size = Number(form.batch_size.value);
  s.lr_g = Number(form.lr_g.value);
  s.lr_d = Number(form.lr_d.value);
  s.seed = Number(form.seed.value);
  s.max_steps = Number(form.max_steps.value);
  return s;
}

function showSettings(s) {
  const form = $("settings").elements;
  // The settings are f32: 0.995 arrives as 0.995000004, so show 6 significant digits.
  const short = (x) => Number(x.toPrecision(6));
  form.loss.value = s.loss;
  form.conditional.checked = s.conditional;
  form.ema.value = short(s.ema);
  form.batch_size.value = s.batch_size;
  form.lr_g.value = short(s.lr_g);
  form.lr_d.value = short(s.lr_d);
  form.seed.value = s.seed;
  form.max_steps.value = s.max_steps;
}

async function create() {
  const files = state.mnist.map((f) => f.slice());
  const trainer = await WebTrainer.create(files, readSettings());
  state.trainer = trainer;
  // WebGPU tells wgpu little of the adapter; the browser's own description says more.
  const info = (await navigator.gpu.requestAdapter({ powerPreference: "high-performance" }))?.info;
  const described = info ? [info.vendor, info.architecture, info.description].filter((x) => x).join(" ") : "";
  $("adapter").textContent = `adapter: ${described || "unnamed"} — ${trainer.adapter()}`;
  for (const el of $("settings").elements) el.disabled = true;
  $("fd").disabled = false;
  $("download").disabled = false;
  return trainer;
}

async function drawGrid() {
  const png = await state.trainer.grid_png();
  const url = URL.createObjectURL(new Blob([png], { type: "image/png" }));
  const old = $("grid").src;
  $("grid").src = url;
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  return png;
}

// Loss_D, Loss_G, D(x) and D(G(z)) against the step, on one set of axes.
function drawChart() {
  // Rows of [step, epoch, Loss_D, Loss_G, D(x), D(G(z))], flattened.
  const h = state.trainer.history();
  const canvas = $("chart");
  const g = canvas.getContext("2d");
  const [w, ht, left, bottom] = [canvas.width, canvas.height, 40, 20];
  g.clearRect(0, 0, w, ht);
  const n = h.length / 6;
  if (n < 1) return;
  let lo = 0, hi = 1, last = h[(n - 1) * 6];
  for (let i = 0; i < n; i++) for (let k = 2; k < 6; k++) {
    lo = Math.min(lo, h[i * 6 + k]);
    hi = Math.max(hi, h[i * 6 + k]);
  }
  const x = (step) => left + (w - left - 10) * (step / Math.max(last, 1));
  const y = (v) => ht - bottom - (ht - bottom - 10) * ((v - lo) / (hi - lo || 1));
  g.strokeStyle = "#999";
  g.strokeRect(left, 10, w - left - 10, ht - bottom - 10);
  g.fillStyle = "#333";
  g.font = "11px sans-serif";
  g.fillText(hi.toFixed(2), 2, 16);
  g.fillText(lo.toFixed(2), 2, ht - bottom);
  g.fillText(`step ${last}`, w - 70, ht - 4);
  const series = [["Loss_D", "#d62728"], ["Loss_G", "#1f77b4"], ["D(x)", "#2ca02c"], ["D(G(z))", "#ff7f0e"]];
  series.forEach(([label, colour], k) => {
    g.strokeStyle = colour;
    g.beginPath();
    for (let i = 0; i < n; i++) {
      const [px, py] = [x(h[i * 6]), y(h[i * 6 + k + 2])];
      if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
    }
    g.stroke();
    g.fillStyle = colour;
    g.fillText(label, left + 8 + 70 * k, 24);
  });
}

function showRow(row) {
  const [step, , lossD, lossG, dx, dgz] = row;
  $("step").textContent = `${step} of ${state.trainer.total_steps()}`;
  $("losses").textContent = `${lossD.toFixed(3)} / ${lossG.toFixed(3)}`;
  $("probs").textContent = `${dx.toFixed(3)} / ${dgz.toFixed(3)}`;
  if (state.trainSeconds > 0) {
    $("rate").textContent = (state.trainedHere / state.trainSeconds).toFixed(2);
  }
}

async function keep() {
  state.kept = await state.trainer.checkpoint();
  state.keptStep = state.trainer.steps_done();
}

// Trains until paused or done, yielding to the browser between chunks.
async function trainLoop(until) {
  const trainer = state.trainer;
  while (state.running && trainer.steps_done() < until) {
    const before = trainer.steps_done();
    const t0 = performance.now();
    const row = await trainer.train(Math.min(STEPS_PER_READ, until - before));
    state.trainSeconds += (performance.now() - t0) / 1e3;
    state.trainedHere += trainer.steps_done() - before;
    showRow(row);
    drawChart();
    const step = trainer.steps_done();
    if (Math.floor(step / GRID_EVERY) > Math.floor(before / GRID_EVERY) || step === until) {
      await drawGrid();
    }
    if (Math.floor(step / KEEP_EVERY) > Math.floor(before / KEEP_EVERY)) await keep();
    await new Promise(requestAnimationFrame);
  }
}

async function start() {
  $("error").hidden = true;
  $("start").disabled = true;
  $("pause").disabled = false;
  state.running = true;
  try {
    if (!state.trainer) {
      say("Opening the GPU and building the models…");
      await create();
    }
    say("Training…");
    await trainLoop(state.trainer.total_steps());
    say(state.running ? "Done." : "Paused.");
    await keep();
  } catch (e) {
    showError(`Training stopped: ${e.message ?? e}`);
    say("Stopped by an error.");
  }
  state.running = false;
  $("start").disabled = false;
  $("pause").disabled = true;
}

function download(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function onDownload() {
  try {
    const bytes = state.running || !state.trainer ? state.kept : await state.trainer.checkpoint();
    if (!bytes) throw new Error("no checkpoint yet: pause the run first");
    download(bytes, "checkpoint.safetensors");
  } catch (e) {
    showError(`Could not make a checkpoint: ${e.message ?? e}`);
  }
}

async function onLoad(file) {
  try {
    if (state.running) throw new Error("pause the run before loading a checkpoint");
    if (!state.trainer) await create();
    const step = await state.trainer.resume(new Uint8Array(await file.arrayBuffer()), file.name);
    state.trainedHere = 0;
    state.trainSeconds = 0;
    say(`Loaded ${file.name} at step ${step}: Start continues it.`);
    $("step").textContent = `${step} of ${state.trainer.total_steps()}`;
    await drawGrid();
  } catch (e) {
    showError(`Could not load ${file.name}: ${e.message ?? e}`);
  }
}

async function onFd() {
  if (state.running) {
    showError("Pause the run to compute the FD.");
    return;
  }
  try {
    say(`Scoring ${FD_SAMPLES} samples…`);
    const classifier = await fetchBytes("data/mnist_classifier.safetensors", "the MNIST classifier");
    const fd = await state.trainer.fd(classifier, FD_SAMPLES, FD_REFERENCE);
    $("fdvalue").textContent = `${fd.toFixed(1)} (${FD_SAMPLES} samples, step ${state.trainer.steps_done()})`;
    say("Scored.");
  } catch (e) {
    showError(`Could not score: ${e.message ?? e}`);
  }
}

// The end-to-end test's script: no clicks. Trains ?steps=N steps (after resuming from
// ?resume=URL), posts the checkpoint, then trains ?after=M steps more (and scores,
// with ?fd=N), and posts the rows of both stretches, the FD, the grid and the seconds.
async function runTest(name) {
  const result = { rows: [], after: [], error: null };
  const train = async (into, count) => {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const row = await state.trainer.train(1);
      state.trainSeconds += (performance.now() - t0) / 1e3;
      state.trainedHere += 1;
      into.push(Array.from(row));
      showRow(row);
      drawChart();
    }
  };
  try {
    const form = $("settings").elements;
    if (params.has("seed")) form.seed.value = params.get("seed");
    await create();
    result.adapter = state.trainer.adapter();
    result.gemm_plans = state.trainer.gemm_plans();
    if (params.has("resume")) {
      const bytes = await fetchBytes(params.get("resume"), "the checkpoint to resume");
      result.resumed_at = await state.trainer.resume(bytes, params.get("resume"));
    }
    state.running = true;
    await train(result.rows, Number(params.get("steps") ?? 20));
    result.seconds = state.trainSeconds;
    await post(`${name}-grid.png`, await drawGrid());
    await post(`${name}.safetensors`, await state.trainer.checkpoint());
    await train(result.after, Number(params.get("after") ?? 0));
    if (params.has("fd")) {
      const classifier = await fetchBytes("data/mnist_classifier.safetensors", "the MNIST classifier");
      const count = Number(params.get("fd"));
      result.fd = await state.trainer.fd(classifier, count, count);
    }
  } catch (e) {
    result.error = String(e.message ?? e);
    showError(result.error);
  }
  await post(`${name}.json`, JSON.stringify(result));
  say(result.error ? "Test run failed." : `Test run done at step ${state.trainer.steps_done()}.`);
}

async function main() {
  if (!navigator.gpu) {
    showError("This browser offers no WebGPU, which duel trains on. Use Chrome or Edge 113 " +
      "or later, Firefox 141 or later, or Safari 26, served over https or from 127.0.0.1.");
    say("No WebGPU.");
    return;
  }
  try {
    await init();
    showSettings(new Settings());
    state.mnist = await loadMnist(say);
  } catch (e) {
    showError(`Could not start: ${e.message ?? e}`);
    say("Not ready.");
    if (params.has("test")) await post(`${params.get("test")}.json`, JSON.stringify({ error: String(e.message ?? e) }));
    return;
  }
  say("Ready: press Start.");
  $("start").onclick = start;
  $("pause").onclick = () => { state.running = false; };
  $("download").onclick = onDownload;
  $("fd").onclick = onFd;
  $("load").onchange = (e) => e.target.files[0] && onLoad(e.target.files[0]);
  if (params.has("test")) await runTest(params.get("test"));
}

main();
