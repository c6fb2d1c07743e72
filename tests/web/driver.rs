//! The page's server (scripts/serve.py) and headless Chromium through chromedriver's
//! WebDriver protocol: plain JSON over HTTP on loopback. Both are stopped on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long one page run may take: building the pipelines on SwiftShader takes a
/// minute or two, and a DCGAN step a second or so on a 2-core machine.
const PAGE_TIMEOUT: Duration = Duration::from_secs(900);

/// Chromium's flags for WebGPU on SwiftShader, headless: the ones the wasm kernel
/// tests use (web/webdriver.json).
const CHROME: &str = include_str!("../../web/webdriver.json");

pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    /// Serves `web` on a free port of 127.0.0.1, keeping uploads in `uploads`.
    pub fn start(root: &Path, web: &Path, uploads: &Path) -> Server {
        let mut child = Command::new("python3")
            .arg(root.join("scripts/serve.py"))
            .args(["--port", "0", "--root"])
            .arg(web)
            .arg("--uploads")
            .arg(uploads)
            .env("DUEL_SERVE_QUIET", "1")
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs scripts/serve.py (scripts/install-web-deps.sh installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("serving ")
            .unwrap_or_else(|| panic!("serve.py said {line:?}"))
            .to_string();
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Browser {
    driver: Child,
    /// chromedriver's session URL.
    session: String,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn post(url: &str, body: &serde_json::Value) -> serde_json::Value {
    let text = ureq::post(url)
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .and_then(|r| r.into_body().read_to_string())
        .unwrap_or_else(|e| panic!("WebDriver POST {url}: {e}"));
    serde_json::from_str(&text).unwrap()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with WebGPU on SwiftShader.
    pub fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (scripts/install-web-deps.sh installs it)");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let options: serde_json::Value = serde_json::from_str(CHROME).unwrap();
        let body = serde_json::json!({ "capabilities": { "alwaysMatch": options } });
        let reply = post(&format!("{base}/session"), &body);
        let id = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {reply}"));
        Browser {
            driver,
            session: format!("{base}/session/{id}"),
        }
    }

    /// Opens the page in test mode as `name` with `query`, and waits for the result it
    /// uploads (`name`.json), which it returns.
    pub fn run_page(
        &self,
        server: &Server,
        name: &str,
        query: &str,
        uploads: &Path,
    ) -> serde_json::Value {
        let url = format!("{}?test={name}&{query}", server.url);
        post(
            &format!("{}/url", self.session),
            &serde_json::json!({ "url": url }),
        );
        let result = uploads.join(format!("{name}.json"));
        let started = Instant::now();
        while !result.is_file() {
            assert!(
                started.elapsed() < PAGE_TIMEOUT,
                "the page did not finish {url} within {PAGE_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        serde_json::from_slice(&std::fs::read(result).unwrap()).unwrap()
    }

    /// Writes a PNG of the page as it stands.
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let text = ureq::get(&format!("{}/screenshot", self.session))
            .call()
            .and_then(|r| r.into_body().read_to_string())
            .unwrap();
        let reply: serde_json::Value = serde_json::from_str(&text).unwrap();
        let png = base64::engine::general_purpose::STANDARD
            .decode(reply["value"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.session).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
