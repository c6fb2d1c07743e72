//! The image-folder data set on folders the tests make: every kind of image it reads,
//! the files it must skip or ignore, resizing and cropping against a continuous
//! reference, and the cache.

use crate::common::{cifar10_dir, data_error, scratch};
use duel::cli::{FOLDER_DCGAN, GanArgs, run_gan};
use duel::data::{Cifar10, FolderSettings, ImageFolder, cifar10, prepare, prepare_image};
use image::{DynamicImage, ImageBuffer, Luma, Rgb, Rgba};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const RGB64: FolderSettings = FolderSettings {
    side: 64,
    channels: 3,
};

/// A colour image whose red rises linearly along x and green along y, as a continuous
/// function of the pixel centre (u + 0.5), with blue constant: red = 40 + 150·(u + ½)/w.
fn ramps(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |u, v| {
        Rgb([ramp(u, w), ramp(v, h), 200])
    }))
}

fn ramp(u: u32, len: u32) -> u8 {
    (40.0 + 150.0 * (f64::from(u) + 0.5) / f64::from(len)).round() as u8
}

/// Resizing and cropping against the continuous image: output pixel (i, j) of the
/// resized (nw, nh) image, cropped at (x0, y0), samples the source at
/// ((j + x0 + ½)·w/nw, (i + y0 + ½)·h/nh), where a ramp's value is known exactly.
///
/// Tolerance 1.5 levels: the source ramp is rounded to whole levels (½), and the
/// Catmull-Rom filter reproduces a linear function exactly but works in f32 and rounds
/// its result (½ more), with room for f32 error. Near an edge of the resized image the
/// filter clamps its taps, which bends a ramp; pixels within its reach (two source
/// pixels, scaled to output pixels, plus one) are left out. A mirrored image, a wrong
/// crop offset or swapped planes miss by tens of levels.
#[test]
fn resizing_and_cropping_match_a_continuous_reference() {
    for (w, h) in [
        (7, 300),
        (1000, 20),
        (40, 30),
        (64, 64),
        (97, 131),
        (300, 301),
    ] {
        for side in [16u32, 64] {
            let settings = FolderSettings {
                side: side as usize,
                channels: 3,
            };
            let mut out = vec![0u8; settings.pixels()];
            prepare_image(&ramps(w, h), settings, &mut out);
            let short = w.min(h);
            let (nw, nh) = (
                ((f64::from(w) * f64::from(side) / f64::from(short)).round() as u32).max(side),
                ((f64::from(h) * f64::from(side) / f64::from(short)).round() as u32).max(side),
            );
            let (x0, y0) = ((nw - side) / 2, (nh - side) / 2);
            let reach = |len: u32, new: u32| 2.0 * (f64::from(new) / f64::from(len)).max(1.0) + 1.0;
            let plane = (side * side) as usize;
            for i in 0..side {
                for j in 0..side {
                    let (x, y) = (f64::from(j + x0) + 0.5, f64::from(i + y0) + 0.5);
                    let at = (i * side + j) as usize;
                    let want = [
                        (40.0 + 150.0 * x / f64::from(nw), x, nw, reach(w, nw)),
                        (40.0 + 150.0 * y / f64::from(nh), y, nh, reach(h, nh)),
                    ];
                    for (c, (value, pos, len, reach)) in want.into_iter().enumerate() {
                        if pos < reach || pos > f64::from(len) - reach {
                            continue;
                        }
                        let got = f64::from(out[c * plane + at]);
                        assert!(
                            (got - value).abs() <= 1.5,
                            "{w}×{h} → {side}: channel {c} at ({i}, {j}) is {got}, want {value:.2}"
                        );
                    }
                    assert_eq!(out[2 * plane + at], 200, "{w}×{h}: blue at ({i}, {j})");
                }
            }
        }
    }
}

/// The folder the tests train and load on: two classes (one nested), PNGs in grey,
/// RGB, RGBA and 16 bits, a JPEG, odd sizes, and what must be skipped or ignored.
fn make_folder(root: &Path) {
    let cats = root.join("cats");
    let dogs = root.join("dogs");
    std::fs::create_dir_all(cats.join("indoor")).unwrap();
    std::fs::create_dir_all(&dogs).unwrap();
    ramps(40, 30).save(cats.join("a.png")).unwrap();
    ramps(7, 300).save(cats.join("indoor/b.jpg")).unwrap();
    let grey = ImageBuffer::from_fn(300, 7, |u, _| Luma([ramp(u, 300)]));
    DynamicImage::ImageLuma8(grey)
        .save(dogs.join("c.png"))
        .unwrap();
    let rgba = ImageBuffer::from_fn(33, 65, |u, v| Rgba([ramp(u, 33), ramp(v, 65), 200, 17]));
    DynamicImage::ImageRgba8(rgba)
        .save(dogs.join("d.png"))
        .unwrap();
    let deep = ImageBuffer::from_fn(1000, 20, |u, v| {
        Rgb([
            u16::from(ramp(u, 1000)) * 257,
            u16::from(ramp(v, 20)) * 257,
            200 * 257,
        ])
    });
    DynamicImage::ImageRgb16(deep)
        .save(dogs.join("e.png"))
        .unwrap();
    let whole = std::fs::read(cats.join("a.png")).unwrap();
    std::fs::write(dogs.join("truncated.png"), &whole[..whole.len() / 2]).unwrap();
    std::fs::write(dogs.join("corrupt.png"), b"not a png at all, just text").unwrap();
    std::fs::write(dogs.join("empty.jpg"), b"").unwrap();
    std::fs::write(dogs.join("notes.txt"), b"ignored").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root, dogs.join("loop")).unwrap();
}

/// `make_folder` in a fresh scratch directory `name`: (the folder, a cache root).
fn made_folder(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let (root, cache) = (dir.join("photos"), dir.join("cache"));
    make_folder(&root);
    (root, cache)
}

#[test]
fn a_made_folder_loads_its_classes_and_skips_what_does_not_decode() {
    let (root, cache) = made_folder("folder_kinds");
    let folder = ImageFolder::load(&root, RGB64, &cache).unwrap();
    assert_eq!(folder.classes, ["cats", "dogs"]);
    assert_eq!(folder.split.count, 5);
    assert_eq!(folder.split.labels, [0, 0, 1, 1, 1]);
    let mut skipped: Vec<String> = folder
        .skipped
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    skipped.sort();
    assert_eq!(skipped, ["corrupt.png", "empty.jpg", "truncated.png"]);
    // Each image is its file prepared on its own, in order: by class, then by path.
    let files = [
        "cats/a.png",
        "cats/indoor/b.jpg",
        "dogs/c.png",
        "dogs/d.png",
        "dogs/e.png",
    ];
    let pixels = RGB64.pixels();
    for (i, file) in files.iter().enumerate() {
        let mut want = vec![0u8; pixels];
        prepare(&root.join(file), RGB64, &mut want).unwrap();
        assert!(
            folder.split.images[i * pixels..(i + 1) * pixels] == want,
            "{file} differs from its own preparation"
        );
    }
    // Grey becomes equal planes; alpha is dropped; 16 bits become 8 (to within the
    // rounding of v·257 back to v).
    let image = |i: usize| &folder.split.images[i * pixels..(i + 1) * pixels];
    let plane = pixels / 3;
    let grey = image(2);
    assert!(grey[..plane] == grey[plane..2 * plane] && grey[..plane] == grey[2 * plane..]);
    assert!(image(3)[2 * plane..].iter().all(|&b| b == 200));
    let mut eight = vec![0u8; pixels];
    prepare_image(&ramps(1000, 20), RGB64, &mut eight);
    let worst = image(4)
        .iter()
        .zip(&eight)
        .map(|(&a, &b)| a.abs_diff(b))
        .max()
        .unwrap();
    assert!(
        worst <= 1,
        "16-bit PNG differs from its 8-bit twin by {worst}"
    );
}

#[test]
fn the_cache_is_used_until_a_file_or_a_setting_changes() {
    let (root, cache) = made_folder("folder_cache");
    let first = ImageFolder::load(&root, RGB64, &cache).unwrap();
    assert!(!first.from_cache);
    let second = ImageFolder::load(&root, RGB64, &cache).unwrap();
    assert!(second.from_cache, "the second load decoded again");
    assert_eq!(second.split, first.split);
    assert_eq!(second.skipped, first.skipped);
    // A file replaced by another image of a different size.
    ramps(50, 50).save(root.join("cats/a.png")).unwrap();
    let changed = ImageFolder::load(&root, RGB64, &cache).unwrap();
    assert!(!changed.from_cache, "a changed file kept the old cache");
    let mut want = vec![0u8; RGB64.pixels()];
    prepare_image(&ramps(50, 50), RGB64, &mut want);
    assert!(changed.split.images[..RGB64.pixels()] == want);
    // Another setting is another cache; the first one is still there afterwards.
    let grey32 = FolderSettings {
        side: 32,
        channels: 1,
    };
    let small = ImageFolder::load(&root, grey32, &cache).unwrap();
    assert!(!small.from_cache);
    assert_eq!(small.split.images.len(), 5 * 32 * 32);
    assert!(ImageFolder::load(&root, RGB64, &cache).unwrap().from_cache);
    // A damaged cache file is rebuilt, not trusted.
    let bin = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("images.bin"))
        .find(|p| p.to_string_lossy().contains("64px"))
        .unwrap();
    let bytes = std::fs::read(&bin).unwrap();
    std::fs::write(&bin, &bytes[..bytes.len() - 1]).unwrap();
    let rebuilt = ImageFolder::load(&root, RGB64, &cache).unwrap();
    assert!(!rebuilt.from_cache);
    assert_eq!(rebuilt.split, changed.split);
}

#[test]
fn a_folder_without_images_or_that_is_missing_says_what_it_found() {
    let dir = scratch("folder_empty");
    let root = dir.join("empty");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/readme.txt"), b"no images").unwrap();
    let message = data_error(ImageFolder::load(&root, RGB64, &dir.join("cache")));
    assert!(message.contains("no PNG or JPEG images"), "{message}");
    let message = data_error(ImageFolder::load(
        &dir.join("nowhere"),
        RGB64,
        &dir.join("cache"),
    ));
    assert!(
        message.contains("could not read the image folder"),
        "{message}"
    );
}

/// Runs folder_dcgan in-process on `dir`, narrow, logging every step.
fn folder_run(dir: &Path, out: &Path, flags: &[&str]) {
    let mut line = vec![
        "folder_dcgan".to_string(),
        format!("--data-dir={}", dir.display()),
        format!("--out={}", out.display()),
        "--ngf=8".into(),
        "--ndf=8".into(),
        "--log-every=1".into(),
    ];
    // Unscored unless asked: a score samples thousands of images.
    if !flags.iter().any(|f| f.starts_with("--eval-every")) {
        line.push("--eval-every=0".into());
    }
    line.extend(flags.iter().map(|f| f.to_string()));
    let set = FOLDER_DCGAN.set;
    run_gan(set, &GanArgs::parse_for(&FOLDER_DCGAN, line)).unwrap();
}

/// metrics.csv's rows after its header, split at commas.
fn metric_rows(out: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(out.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Every tensor of a checkpoint, by name.
fn tensors(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect()
}

/// A folder of `count` smooth made images of assorted sizes, in two classes.
fn made_photos(root: &Path, count: u32) {
    for i in 0..count {
        let class = root.join(if i % 2 == 0 { "even" } else { "odd" });
        std::fs::create_dir_all(&class).unwrap();
        let (w, h) = (40 + 13 * (i % 7), 50 + 17 * (i % 5));
        let image = ImageBuffer::from_fn(w, h, |u, v| {
            Rgb([ramp(u, w), ramp(v, h), (i * 20 % 256) as u8])
        });
        image.save(class.join(format!("{i:03}.png"))).unwrap();
    }
}

/// 10 steps at 64×64 and at 128×128 give finite losses, and a run stopped at step 5
/// and resumed ends with the same weights, bit for bit, as one that never stopped.
#[test]
fn folder_dcgan_trains_at_64_and_128_and_resumes_bit_for_bit() {
    let dir = scratch("folder_train");
    let photos = dir.join("photos");
    made_photos(&photos, 24);
    for size in ["64", "128"] {
        let size_flag = format!("--image-size={size}");
        let common = [size_flag.as_str(), "--batch-size=4", "--conditional"];
        let straight = dir.join(format!("straight{size}"));
        folder_run(
            &photos,
            &straight,
            &[&common[..], &["--max-steps=10"]].concat(),
        );
        let rows = metric_rows(&straight);
        assert_eq!(rows.len(), 10, "{rows:?}");
        for row in &rows {
            let (d, g): (f64, f64) = (row[2].parse().unwrap(), row[3].parse().unwrap());
            assert!(d.is_finite() && g.is_finite(), "{row:?}");
        }
        let stopped = dir.join(format!("stopped{size}"));
        folder_run(
            &photos,
            &stopped,
            &[&common[..], &["--max-steps=5"]].concat(),
        );
        let checkpoint = stopped.join("checkpoint.safetensors");
        let resume = format!("--resume={}", checkpoint.display());
        folder_run(
            &photos,
            &stopped,
            &[&common[..], &["--max-steps=10", &resume]].concat(),
        );
        assert!(
            tensors(&checkpoint) == tensors(&straight.join("checkpoint.safetensors")),
            "{size}×{size}: the resumed run's weights differ"
        );
    }
}

/// The shared CIFAR-10 subset written out as PNGs, a folder per class, reads back as
/// the CIFAR-10 reader reads it, bit for bit, and trains at 32×32.
#[test]
fn the_cifar10_subset_as_png_folders_reads_bit_exact_and_trains() {
    let dir = scratch("folder_cifar10");
    let photos = dir.join("cifar10");
    let data = Cifar10::load(&cifar10::find(Some(&cifar10_dir())).unwrap()).unwrap();
    let side = cifar10::SIDE as u32;
    let plane = (side * side) as usize;
    for (i, (image, &label)) in data
        .train
        .images
        .chunks(3 * plane)
        .zip(&data.train.labels)
        .enumerate()
    {
        let class = photos.join(&data.classes[usize::from(label)]);
        std::fs::create_dir_all(&class).unwrap();
        let rgb = ImageBuffer::from_fn(side, side, |x, y| {
            let at = (y * side + x) as usize;
            Rgb([image[at], image[plane + at], image[2 * plane + at]])
        });
        rgb.save(class.join(format!("{i:05}.png"))).unwrap();
    }
    let settings = FolderSettings {
        side: 32,
        channels: 3,
    };
    let folder = ImageFolder::load(&photos, settings, &dir.join("cache")).unwrap();
    let mut names = data.classes.clone();
    names.sort();
    assert_eq!(folder.classes, names);
    assert_eq!(folder.split.count, data.train.count);
    // The folder's order is by class name, then by file name (the record's index).
    let mut records: Vec<(usize, &[u8])> = data
        .train
        .images
        .chunks(3 * plane)
        .zip(&data.train.labels)
        .map(|(image, &l)| {
            (
                names.binary_search(&data.classes[usize::from(l)]).unwrap(),
                image,
            )
        })
        .collect();
    records.sort_by_key(|&(class, _)| class);
    for (i, (class, image)) in records.iter().enumerate() {
        assert_eq!(usize::from(folder.split.labels[i]), *class);
        assert!(
            folder.split.images[i * 3 * plane..(i + 1) * 3 * plane] == **image,
            "image {i} differs from the CIFAR-10 reader's"
        );
    }
    let out = dir.join("run");
    // The proxy metric scores steps 10 and 20.
    let eval = ["--eval-every=10", "--eval-samples=200"];
    folder_run(
        &photos,
        &out,
        &[&["--image-size=32", "--max-steps=20"][..], &eval].concat(),
    );
    let rows = metric_rows(&out);
    assert_eq!(rows.len(), 20);
    for row in [&rows[9], &rows[19]] {
        let (fd, kid): (f64, f64) = (row[7].parse().unwrap(), row[13].parse().unwrap());
        assert!(fd > 0.0 && fd.is_finite() && kid.is_finite(), "{row:?}");
    }
    assert!(out.join("latest.png").exists() && out.join("fd_curve.png").exists());
}
