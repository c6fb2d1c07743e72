//! The cache of a decoded image folder: `images.bin` (the images as (count, C, H, W)
//! bytes, then one label byte each) beside `manifest.txt`, which names the settings,
//! the classes and every source with its size and modification time (and, for an
//! image that did not decode, why). The cache is used only when the folder's sources
//! and the settings are exactly those the manifest names; anything else rebuilds it.
//! Each setting gets its own cache, so switching `--image-size` back and forth decodes
//! each size once.

use super::Split;
use super::folder::{FolderSettings, ImageFolder};
use super::sha256_hex;
use crate::io::write_atomically;
use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

const HEADER: &str = "duel image folder cache 1";
const MANIFEST: &str = "manifest.txt";
const IMAGES: &str = "images.bin";

/// One image file found in the folder, with what the cache compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub path: PathBuf,
    pub label: u8,
    bytes: u64,
    modified_ns: u128,
}

impl Source {
    /// The file at `path` as it is now (a file that can't be examined gets zeros,
    /// and is reported when it fails to decode).
    pub fn of(path: PathBuf, label: u8) -> Source {
        let meta = std::fs::metadata(&path).ok();
        let modified_ns = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Source {
            label,
            bytes: meta.map_or(0, |m| m.len()),
            modified_ns,
            path,
        }
    }
}

/// The cache directory of folder `dir` at `settings`, under `root`.
pub fn dir_for(root: &Path, dir: &Path, settings: FolderSettings) -> PathBuf {
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let id = sha256_hex(real.to_string_lossy().as_bytes());
    root.join(format!(
        "{}-{}px-{}ch",
        &id[..16],
        settings.side,
        settings.channels
    ))
}

/// The manifest's text for this folder's sources and outcome.
fn manifest(settings: FolderSettings, sources: &[Source], folder: &ImageFolder) -> String {
    let mut text = format!(
        "{HEADER}\nside {}\nchannels {}\nimages {}\n",
        settings.side, settings.channels, folder.split.count
    );
    for class in &folder.classes {
        text += &format!("class\t{class}\n");
    }
    let mut skipped = folder.skipped.iter().peekable();
    for src in sources {
        let why = match skipped.peek() {
            Some((path, why)) if *path == src.path => {
                skipped.next();
                why.replace(['\t', '\n'], " ")
            }
            _ => String::new(),
        };
        text += &format!(
            "source\t{}\t{}\t{}\t{}\t{why}\n",
            src.label,
            src.bytes,
            src.modified_ns,
            src.path.display()
        );
    }
    text
}

/// The cached folder, if the cache in `cache` was made from exactly these sources and
/// settings and is whole.
pub fn read(
    cache: &Path,
    settings: FolderSettings,
    sources: &[Source],
    classes: &[String],
) -> Option<ImageFolder> {
    let text = std::fs::read_to_string(cache.join(MANIFEST)).ok()?;
    let mut lines = text.lines();
    let expect = [
        HEADER.to_string(),
        format!("side {}", settings.side),
        format!("channels {}", settings.channels),
    ];
    if expect
        .iter()
        .any(|want| lines.next() != Some(want.as_str()))
    {
        return None;
    }
    let count: usize = lines.next()?.strip_prefix("images ")?.parse().ok()?;
    let mut cached_classes = Vec::new();
    let mut skipped = Vec::new();
    let mut srcs = sources.iter();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[..] {
            ["class", name] => cached_classes.push(name.to_string()),
            ["source", label, bytes, modified, path, why] => {
                let src = srcs.next()?;
                let same = label == src.label.to_string()
                    && bytes == src.bytes.to_string()
                    && modified == src.modified_ns.to_string()
                    && Path::new(path) == src.path;
                if !same {
                    return None;
                }
                if !why.is_empty() {
                    skipped.push((src.path.clone(), why.to_string()));
                }
            }
            _ => return None,
        }
    }
    if srcs.next().is_some() || cached_classes != classes || count + skipped.len() != sources.len()
    {
        return None;
    }
    let mut images = std::fs::read(cache.join(IMAGES)).ok()?;
    if images.len() != count * (settings.pixels() + 1) {
        return None;
    }
    let labels = images.split_off(count * settings.pixels());
    Some(ImageFolder {
        split: Split {
            images,
            labels,
            count,
        },
        classes: classes.to_vec(),
        skipped,
        from_cache: true,
    })
}

/// Writes `folder`'s cache into `cache`: the images first, then the manifest that
/// vouches for them, each atomically.
pub fn write(
    cache: &Path,
    settings: FolderSettings,
    sources: &[Source],
    folder: &ImageFolder,
) -> Result<()> {
    let unwritable = |e: &dyn std::fmt::Display| {
        Error::Output(format!(
            "could not cache the decoded images in {}: {e}",
            cache.display()
        ))
    };
    let odd = |s: &str| s.contains(['\t', '\n']);
    if sources.iter().any(|s| odd(&s.path.to_string_lossy()))
        || folder.classes.iter().any(|c| odd(c))
    {
        return Err(unwritable(&"a path holds a tab or a line break"));
    }
    std::fs::create_dir_all(cache).map_err(|e| unwritable(&e))?;
    write_atomically(&cache.join(IMAGES), |tmp| {
        let mut file = std::io::BufWriter::new(std::fs::File::create(tmp)?);
        file.write_all(&folder.split.images)?;
        file.write_all(&folder.split.labels)?;
        file.flush()
    })?;
    let text = manifest(settings, sources, folder);
    write_atomically(&cache.join(MANIFEST), |tmp| std::fs::write(tmp, &text))
}
