// What the demo page and the bench page share: fetching the data served beside them,
// and posting results back to scripts/serve.py in test mode.

const FILES = [
  "train-images-idx3-ubyte",
  "train-labels-idx1-ubyte",
  "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte",
];

export async function fetchBytes(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch ${what} (${url}): ${e.message}. Is scripts/web.sh still serving?`);
  }
  if (!response.ok) {
    throw new Error(`${what} is missing on the server (${url}: HTTP ${response.status}). ` +
      "Run bash scripts/web.sh, which puts it beside the page.");
  }
  return new Uint8Array(await response.arrayBuffer());
}

// MNIST's four gzipped files, in the order WebTrainer.create takes them.
export async function loadMnist(say) {
  const files = [];
  for (const name of FILES) {
    say(`Loading MNIST: ${name}…`);
    files.push(await fetchBytes(`data/mnist/${name}.gz`, `MNIST's ${name}.gz`));
  }
  return files;
}

export async function post(name, body) {
  const response = await fetch(`upload/${name}`, { method: "POST", body });
  if (!response.ok) throw new Error(`upload of ${name} failed: HTTP ${response.status}`);
}
