//! A folder of the user's own images, as torchvision's `ImageFolder` reads one: every
//! PNG and JPEG under it, recursively; each top-level subfolder is a class (in name
//! order), and a folder without image-bearing subfolders is one class. Each image is
//! converted to RGB (alpha dropped) or grey, resized so its shorter side is `side`
//! (Catmull-Rom, a bicubic filter), and centre-cropped to side × side.
//!
//! Decoding is done once: the images go to a cache (see `folder_cache`), so a second
//! run reads one file. Decoding writes each image straight into its place in the one
//! buffer the set is held in, on every core, so a large folder is never in memory
//! twice. An image that does not decode is skipped with one line naming it.

use super::Split;
use super::folder_cache::{self, Source};
use crate::{Error, Result};
use image::imageops::FilterType;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How the images are prepared: the side of the square they become, and 1 (grey) or 3
/// (RGB) channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderSettings {
    pub side: usize,
    pub channels: usize,
}

impl FolderSettings {
    /// Bytes of one prepared image, (C, H, W).
    pub fn pixels(self) -> usize {
        self.channels * self.side * self.side
    }

    fn check(self) -> Result<()> {
        if self.side == 0 || !matches!(self.channels, 1 | 3) {
            return Err(Error::Usage(format!(
                "an image folder needs a side of at least 1 and 1 or 3 channels, not {} and {}",
                self.side, self.channels
            )));
        }
        Ok(())
    }
}

/// A loaded image folder: the images as a `Split` (labels are class indices), the
/// class names, and the images that could not be read.
#[derive(Debug)]
pub struct ImageFolder {
    pub split: Split,
    pub classes: Vec<String>,
    /// Each unreadable image and why.
    pub skipped: Vec<(PathBuf, String)>,
    /// Whether the images came from the cache rather than from decoding.
    pub from_cache: bool,
}

/// The file extensions read as images; everything else is ignored quietly.
const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Labels are bytes.
const MAX_CLASSES: usize = 256;

/// Images decoded per work item: small enough to share out evenly, large enough that
/// taking one costs nothing.
const CHUNK: usize = 16;

impl ImageFolder {
    /// Loads `dir` as `settings` say, from the cache in `cache_root` when it is up to
    /// date, else by decoding (and then writing the cache; a cache that can't be
    /// written costs the next run a decode, nothing more).
    pub fn load(dir: &Path, settings: FolderSettings, cache_root: &Path) -> Result<ImageFolder> {
        settings.check()?;
        let (sources, classes) = find_images(dir)?;
        let cache = folder_cache::dir_for(cache_root, dir, settings);
        if let Some(folder) = folder_cache::read(&cache, settings, &sources, &classes) {
            return Ok(folder);
        }
        let folder = decode_all(&sources, classes, settings);
        if let Err(e) = folder_cache::write(&cache, settings, &sources, &folder) {
            eprintln!("warning: {e}; the next run decodes the folder again");
        }
        Ok(folder)
    }

    /// One line on what was loaded, and one per skipped image.
    pub fn report(&self, dir: &Path) {
        for (path, why) in &self.skipped {
            eprintln!("skipped {}: {why}", path.display());
        }
        eprintln!(
            "{}: {} images in {} class{} ({}){}{}",
            dir.display(),
            self.split.count,
            self.classes.len(),
            if self.classes.len() == 1 { "" } else { "es" },
            self.classes.join(", "),
            match self.skipped.len() {
                0 => String::new(),
                n => format!(", {n} unreadable skipped"),
            },
            if self.from_cache {
                ", from the cache"
            } else {
                ""
            },
        );
    }
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Every image file under `dir` with its class, in a fixed order (by class, then by
/// path), and the class names. Symbolic links are followed, but a directory already
/// visited (a loop) is not entered again.
fn find_images(dir: &Path) -> Result<(Vec<Source>, Vec<String>)> {
    let (mut subdirs, loose) = list(dir).map_err(|e| {
        Error::Data(format!(
            "could not read the image folder {}: {e}. Pass --data-dir with a folder of PNG or JPEG images",
            dir.display()
        ))
    })?;
    let mut seen = HashSet::new();
    seen.extend(std::fs::canonicalize(dir).ok());
    subdirs.sort();
    let mut groups: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for sub in subdirs {
        let mut files = Vec::new();
        walk(&sub, &mut seen, &mut files);
        if !files.is_empty() {
            let name = sub.file_name().unwrap_or_default().to_string_lossy();
            groups.push((name.into_owned(), files));
        }
    }
    if !loose.is_empty() {
        // Images beside class folders form a class of their own, named after the folder.
        let name = dir.file_name().map_or(".".into(), |n| n.to_string_lossy());
        groups.insert(0, (name.into_owned(), loose));
    }
    if groups.is_empty() {
        return Err(Error::Data(format!(
            "no PNG or JPEG images found under {}: put the images there (in one folder, or a \
             subfolder per class) or pass --data-dir with the folder that holds them",
            dir.display()
        )));
    }
    if groups.len() > MAX_CLASSES {
        return Err(Error::Data(format!(
            "{} has {} class folders; at most {MAX_CLASSES} classes are supported. Put the \
             images in fewer subfolders (or all in one)",
            dir.display(),
            groups.len()
        )));
    }
    let mut sources = Vec::new();
    let mut classes = Vec::new();
    for (label, (name, mut files)) in groups.into_iter().enumerate() {
        files.sort();
        for path in files {
            sources.push(Source::of(path, label as u8));
        }
        classes.push(name);
    }
    Ok((sources, classes))
}

/// The subfolders and the image files directly in `dir`, links followed; anything
/// else (other files, broken links) is left out.
fn list(dir: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut dirs, mut images) = (Vec::new(), Vec::new());
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => dirs.push(path),
            Ok(m) if m.is_file() && is_image(&path) => images.push(path),
            _ => {}
        }
    }
    Ok((dirs, images))
}

/// Adds every image file under `dir` to `out`, entering no directory in `seen` twice.
fn walk(dir: &Path, seen: &mut HashSet<PathBuf>, out: &mut Vec<PathBuf>) {
    let Ok(real) = std::fs::canonicalize(dir) else {
        return;
    };
    if !seen.insert(real) {
        return;
    }
    let Ok((dirs, images)) = list(dir) else {
        return;
    };
    out.extend(images);
    for sub in dirs {
        walk(&sub, seen, out);
    }
}

/// Decodes every source into one buffer on every core, then closes the gaps that
/// unreadable images left.
fn decode_all(sources: &[Source], classes: Vec<String>, settings: FolderSettings) -> ImageFolder {
    let pixels = settings.pixels();
    let mut images = vec![0u8; sources.len() * pixels];
    let mut failures: Vec<Option<String>> = vec![None; sources.len()];
    let bar = crate::io::progress_bar(sources.len() as u64, "images decoded");
    {
        let work = Mutex::new(
            images
                .chunks_mut(CHUNK * pixels)
                .zip(sources.chunks(CHUNK))
                .zip(failures.chunks_mut(CHUNK)),
        );
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        let item = work.lock().unwrap_or_else(|e| e.into_inner()).next();
                        let Some(((slots, srcs), fails)) = item else {
                            break;
                        };
                        for ((slot, src), fail) in
                            slots.chunks_mut(pixels).zip(srcs).zip(fails.iter_mut())
                        {
                            *fail = prepare(&src.path, settings, slot).err();
                        }
                        bar.inc(srcs.len() as u64);
                    }
                });
            }
        });
    }
    bar.finish_and_clear();
    // Close the gaps in place, keeping order.
    let mut kept = 0;
    let mut labels = Vec::with_capacity(sources.len());
    let mut skipped = Vec::new();
    for (i, (src, fail)) in sources.iter().zip(failures).enumerate() {
        match fail {
            Some(why) => skipped.push((src.path.clone(), why)),
            None => {
                images.copy_within(i * pixels..(i + 1) * pixels, kept * pixels);
                labels.push(src.label);
                kept += 1;
            }
        }
    }
    images.truncate(kept * pixels);
    images.shrink_to_fit();
    ImageFolder {
        split: Split {
            images,
            labels,
            count: kept,
        },
        classes,
        skipped,
        from_cache: false,
    }
}

/// Decodes the image at `path` and writes it, prepared as `settings` say, into `out`
/// as (C, H, W) bytes.
pub fn prepare(
    path: &Path,
    settings: FolderSettings,
    out: &mut [u8],
) -> std::result::Result<(), String> {
    // One line, whatever the decoder said, so that it reports (and caches) as one.
    let why = |e: &dyn std::fmt::Display| {
        e.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let image = image::ImageReader::open(path)
        .map_err(|e| why(&e))?
        .with_guessed_format()
        .map_err(|e| why(&e))?
        .decode()
        .map_err(|e| why(&e))?;
    prepare_image(&image, settings, out);
    Ok(())
}

/// `prepare` on an image already decoded.
pub fn prepare_image(image: &image::DynamicImage, settings: FolderSettings, out: &mut [u8]) {
    let side = settings.side as u32;
    let (w, h) = (image.width(), image.height());
    // The shorter side becomes `side`; the longer keeps the aspect ratio.
    let (nw, nh) = if w <= h {
        (side, scaled(h, side, w))
    } else {
        (scaled(w, side, h), side)
    };
    let (x0, y0) = ((nw - side) / 2, (nh - side) / 2);
    let plane = settings.side * settings.side;
    let converted = if settings.channels == 1 {
        image::DynamicImage::ImageLuma8(image.to_luma8())
    } else {
        image::DynamicImage::ImageRgb8(image.to_rgb8())
    };
    // An image already the right size is copied as it is, not filtered.
    let resized = if (w, h) == (nw, nh) {
        converted
    } else {
        converted.resize_exact(nw, nh, FilterType::CatmullRom)
    };
    let crop = resized.crop_imm(x0, y0, side, side);
    if settings.channels == 1 {
        out[..plane].copy_from_slice(crop.to_luma8().as_raw());
    } else {
        for (i, px) in crop.to_rgb8().pixels().enumerate() {
            for c in 0..3 {
                out[c * plane + i] = px.0[c];
            }
        }
    }
}

/// `long` scaled by side / short, rounded, and never below `side`.
fn scaled(long: u32, side: u32, short: u32) -> u32 {
    ((f64::from(long) * f64::from(side) / f64::from(short)).round() as u32).max(side)
}
