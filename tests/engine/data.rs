//! IDX parsing and its errors on files the tests make, and the real MNIST files.

use crate::common::{data_error, gpu, gzip, mnist_dir, scratch, serve};
use duel::data::{CHECKSUMS, GpuImages, Mnist, download_from, encode_idx, mnist, read_idx};

#[test]
fn idx_files_round_trip_raw_and_gzipped() {
    let dir = scratch("idx_round_trip");
    let bytes = encode_idx(&[2, 3, 4], &(0..24).collect::<Vec<u8>>());
    std::fs::write(dir.join("raw"), &bytes).unwrap();
    std::fs::write(dir.join("packed.gz"), gzip(&bytes)).unwrap();
    for name in ["raw", "packed.gz"] {
        let idx = read_idx(&dir.join(name)).unwrap();
        assert_eq!(idx.dims, [2, 3, 4]);
        assert_eq!(idx.data, (0..24).collect::<Vec<u8>>());
    }
}

#[test]
fn corrupt_and_truncated_files_are_named_and_explained() {
    let dir = scratch("idx_errors");
    let good = encode_idx(&[10, 5], &[7; 50]);
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("truncated", good[..good.len() - 3].to_vec(), "truncated"),
        (
            "too-long",
            [&good[..], &[0, 0]].concat(),
            "longer than its header",
        ),
        ("bad-magic", [&[1u8, 2][..], &good[2..]].concat(), "magic"),
        (
            "floats",
            [&[0u8, 0, 0x0d][..], &good[3..]].concat(),
            "element type",
        ),
        ("short-header", vec![0, 0, 8, 3, 0], "header"),
    ];
    for (name, bytes, says) in cases {
        std::fs::write(dir.join(name), &bytes).unwrap();
        let m = data_error(read_idx(&dir.join(name)));
        assert!(m.contains(name) && m.contains(says), "{name}: {m}");
    }
    let gz = gzip(&good);
    std::fs::write(dir.join("cut.gz"), &gz[..gz.len() / 2]).unwrap();
    let m = data_error(read_idx(&dir.join("cut.gz")));
    assert!(m.contains("cut.gz") && m.contains("gzip"), "{m}");
}

#[test]
fn missing_data_says_where_to_put_it() {
    let dir = scratch("no_mnist_here");
    let m = data_error(mnist::find(Some(&dir)));
    assert!(
        m.contains("no_mnist_here")
            && m.contains("train-images-idx3-ubyte")
            && m.contains("--data-dir"),
        "{m}"
    );
}

/// A --data-dir that lacks one file, holds a directory in a file's place, or can't be
/// read is an error that names the file or the directory, and no download or cache
/// stands in for it.
#[test]
fn an_incomplete_data_dir_names_what_is_wrong_and_is_never_passed_over() {
    let shared = mnist_dir();
    for missing in mnist::FILES {
        let dir = scratch(&format!("mnist_without_{missing}"));
        for name in mnist::FILES.iter().filter(|&&n| n != missing) {
            let from = duel::data::locate::file_in(&shared, name).unwrap();
            std::fs::copy(&from, dir.join(from.file_name().unwrap())).unwrap();
        }
        let m = data_error(mnist::find_or_download(Some(&dir)));
        assert!(
            m.contains(missing) && m.contains("is missing"),
            "{missing}: {m}"
        );
        for present in mnist::FILES.iter().filter(|&&n| n != missing) {
            assert!(!m.contains(&format!("{present} (or")), "{missing}: {m}");
        }
        assert!(!m.contains("ownload"), "{missing}: {m}");
        if missing == mnist::FILES[3] {
            std::fs::create_dir(dir.join(missing)).unwrap();
            let m = data_error(mnist::find_or_download(Some(&dir)));
            assert!(m.contains(&format!("{missing} is a directory")), "{m}");
        }
    }
    // A "directory" that is a file can't be read as one.
    let file = scratch("mnist_dir_is_a_file").join("plain");
    std::fs::write(&file, b"x").unwrap();
    let m = data_error(mnist::find_or_download(Some(&file)));
    assert!(m.contains("plain") && m.contains("cannot be read"), "{m}");
}

#[test]
fn a_wrong_sized_mnist_file_is_rejected() {
    let dir = scratch("small_mnist");
    for name in mnist::FILES {
        let dims: &[usize] = if name.contains("images") {
            &[3, 28, 28]
        } else {
            &[3]
        };
        let count: usize = dims.iter().product();
        std::fs::write(dir.join(name), encode_idx(dims, &vec![1; count])).unwrap();
    }
    let m = data_error(Mnist::load(&dir).map(|m| m.train.count));
    assert!(
        m.contains("train-images") && m.contains("[60000, 28, 28]"),
        "{m}"
    );
}

#[test]
fn real_mnist_loads_and_batches_on_the_gpu() {
    let data = Mnist::load(&mnist_dir()).unwrap();
    assert_eq!((data.train.count, data.test.count), (60_000, 10_000));
    assert_eq!(data.train.images.len(), 60_000 * 784);
    // The published training-set mean pixel is 33.318.
    let mean = data.train.images.iter().map(|&b| f64::from(b)).sum::<f64>()
        / data.train.images.len() as f64;
    assert!((mean - 33.318).abs() < 0.01, "mean pixel {mean}");
    let mut histogram = [0usize; 10];
    data.train
        .labels
        .iter()
        .for_each(|&l| histogram[l as usize] += 1);
    assert!(
        histogram.iter().all(|&n| (5_000..7_000).contains(&n)),
        "{histogram:?}"
    );

    let images = GpuImages::upload(gpu(), &data.train.images, 60_000, &[1, 28, 28]).unwrap();
    let picks = [59_999u32, 0, 12_345];
    let order = images.order(&picks).unwrap();
    let batch = images.batch(&order, 1, 2).unwrap();
    assert_eq!(batch.shape(), [2, 1, 28, 28]);
    let got = batch.to_vec().unwrap();
    for (row, &index) in picks[1..].iter().enumerate() {
        for p in 0..784 {
            let want = f32::from(data.train.images[index as usize * 784 + p]) * (2.0 / 255.0) - 1.0;
            assert!(
                (got[row * 784 + p] - want).abs() < 1e-6,
                "image {index} pixel {p}"
            );
        }
    }
    assert!(images.order(&[60_000]).is_err());
    assert!(images.batch(&order, 2, 2).is_err());
}

#[test]
fn the_shared_mnist_files_match_the_published_checksums() {
    for (name, _) in duel::data::CHECKSUMS {
        let bytes = std::fs::read(mnist_dir().join(name)).unwrap();
        duel::data::verify(name, &bytes).unwrap();
    }
    let m = data_error(duel::data::verify(
        "train-labels-idx1-ubyte.gz",
        b"not the file",
    ));
    assert!(m.contains("does not match"), "{m}");
}

#[test]
fn download_fetches_over_http_and_rejects_a_corrupt_mirror() {
    let originals: Vec<(String, Vec<u8>)> = CHECKSUMS
        .iter()
        .map(|(name, _)| {
            (
                name.to_string(),
                std::fs::read(mnist_dir().join(name)).unwrap(),
            )
        })
        .collect();
    // The first mirror serves a flipped byte in one file and lacks another; the
    // second serves the originals. Only verified bytes may land on disk.
    let mut corrupt = originals.clone();
    corrupt[0].1[1000] ^= 0xff;
    corrupt.remove(3);
    let bad = serve(corrupt);
    let good = serve(originals.clone());

    let dir = scratch("download_http");
    let err = data_error(download_from(&dir, &[&bad]));
    assert!(err.contains("does not match the published"), "{err}");
    assert!(
        !dir.join(CHECKSUMS[0].0).exists(),
        "a corrupt file was kept"
    );

    download_from(&dir, &[&bad, &good]).unwrap();
    for (name, bytes) in &originals {
        assert_eq!(&std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
    }
    Mnist::load(&dir).expect("the downloaded files load");
}
