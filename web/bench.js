// The bench page: mnist_dcgan's default recipe (what the demo page trains) timed at
// batch 32 and 64 on this browser's WebGPU adapter. Each batch size gets a fresh
// trainer, WARMUP untimed steps (pipelines build on first use), then STEPS steps
// recorded back to back and one wait for the GPU. Beside each figure, the same step
// natively, when scripts/web.sh --bench measured it (data/native-bench.json).
// ?test=NAME posts the results as NAME.json, as the demo page's test mode does;
// ?batches=2,8,32 times other batch sizes (a step's cost against its batch splits
// what each image costs from what every step costs); ?profile=1 adds each kernel's
// time in one step, from the adapter's timestamp queries.

import init, { Settings, WebTrainer } from "./pkg/duel_web.js";
import { fetchBytes, loadMnist, post } from "./common.js";

const WARMUP = 2;
const STEPS = 5;

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const BATCHES = (params.get("batches") ?? "32,64").split(",").map(Number);

async function main() {
  const result = { batches: {}, error: null };
  try {
    await init();
    const mnist = await loadMnist((text) => { $("status").textContent = text; });
    let native = {};
    try {
      native = JSON.parse(new TextDecoder().decode(await fetchBytes("data/native-bench.json", "the native figures")));
    } catch (_) { /* none measured */ }
    for (const batch of BATCHES) {
      $("status").textContent = `batch ${batch}: building and warming up…`;
      const settings = new Settings();
      settings.batch_size = batch;
      const trainer = await WebTrainer.create(mnist.map((f) => f.slice()), settings);
      $("adapter").textContent = `adapter: ${trainer.adapter()}`;
      result.adapter = trainer.adapter();
      $("plans").textContent = trainer.gemm_plans();
      const ms = await trainer.bench(WARMUP, STEPS);
      result.batches[batch] = { ms, plans: trainer.gemm_plans() };
      if (params.has("profile")) {
        const profile = await trainer.profile();
        result.batches[batch].profile = profile;
        $("profile").textContent += `batch ${batch}, ms in one step, calls, kernel:\n${profile}\n\n`;
      }
      trainer.free();
      const row = $("results").insertRow();
      row.insertCell().textContent = batch;
      row.insertCell().textContent = ms.toFixed(0);
      row.insertCell().textContent = native[batch] ? native[batch].toFixed(0) : "not measured";
    }
    $("status").textContent = "Done.";
  } catch (e) {
    result.error = String(e.message ?? e);
    $("error").hidden = false;
    $("error").textContent = result.error;
  }
  if (params.has("test")) await post(`${params.get("test")}.json`, JSON.stringify(result));
}

main();
