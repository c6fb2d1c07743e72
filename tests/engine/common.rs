//! Shared pieces: one GPU, the shared data directories, scratch directories, a local
//! HTTP server.

use duel::autograd::Param;
use duel::reference::Array;
use duel::{Error, Gpu, Tensor};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::OnceLock;

pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| Gpu::new().unwrap_or_else(|e| panic!("{e}")))
}

/// The real MNIST files that tests and CI use.
pub fn mnist_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist")
}

/// The shared CIFAR-10 subset (its `cifar-10-batches-bin/` is inside).
pub fn cifar10_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10")
}

/// A fresh, empty directory under the target directory, unique to `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The message of a data error; anything else fails the test.
pub fn data_error(r: duel::Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(Error::Data(m)) => m,
        other => panic!("expected a data error, got {other:?}"),
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Serves `files` (name → bytes) over HTTP/1.1 on a local port, one request per
/// connection, until the test ends; returns the base URL.
pub fn serve(files: Vec<(String, Vec<u8>)>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/files/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request_line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Read the headers up to the blank line before answering.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("");
            let name = path.rsplit('/').next().unwrap_or("");
            let response = match files.iter().find(|(n, _)| n == name) {
                Some((_, body)) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    url
}

pub fn random(shape: &[usize], seed: u64, lo: f32, hi: f32) -> Array {
    let mut rng = StdRng::seed_from_u64(seed);
    let data: Vec<f32> = (0..shape.iter().product())
        .map(|_| rng.random_range(lo..hi))
        .collect();
    Array::from_f32(shape, &data)
}

pub fn upload(a: &Array) -> Tensor {
    Tensor::from_slice(gpu(), &a.shape, &a.to_f32()).unwrap()
}

pub fn param(name: &str, a: &Array) -> Rc<Param> {
    Param::new(gpu(), name, upload(a)).unwrap()
}

/// Central differences of `loss` with respect to every element of `params[which]`.
pub fn numeric_grad(loss: &dyn Fn(&[Array]) -> f64, params: &[Array], which: usize) -> Array {
    let every: Vec<usize> = (0..params[which].numel()).collect();
    let data = numeric_grad_at(loss, params, which, &every);
    Array::new(&params[which].shape, data)
}

/// Central differences of `loss` with respect to the elements `at` of `params[which]`.
pub fn numeric_grad_at(
    loss: &dyn Fn(&[Array]) -> f64,
    params: &[Array],
    which: usize,
    at: &[usize],
) -> Vec<f64> {
    let h = 1e-6;
    at.iter()
        .map(|&i| {
            let mut plus = params.to_vec();
            plus[which].data[i] += h;
            let mut minus = params.to_vec();
            minus[which].data[i] -= h;
            (loss(&plus) - loss(&minus)) / (2.0 * h)
        })
        .collect()
}

/// Every tensor of a checkpoint file, by name, as raw bytes.
pub fn tensor_bytes(path: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut named: Vec<_> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect();
    named.sort();
    named
}
