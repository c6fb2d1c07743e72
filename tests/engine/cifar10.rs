//! The CIFAR-10 reader on files the tests make (good and bad), on the shared subset,
//! and its download from a local HTTP server.

use crate::common::{cifar10_dir, data_error, gpu, gzip, scratch, serve};
use duel::data::cifar10::{self, Archive, FOLDER, RECORD};
use duel::data::{Cifar10, GpuImages, ImageSet, sha256_hex};
use md5::{Digest, Md5};

/// `count` records whose label is `i % 10` and whose bytes encode (record, channel,
/// pixel), so any misplaced byte shows.
fn records(count: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(count * RECORD);
    for i in 0..count {
        bytes.push((i % 10) as u8);
        bytes.extend((0..RECORD - 1).map(|p| (i * 7 + p / 1024 * 50 + p % 251) as u8));
    }
    bytes
}

/// A folder `cifar-10-batches-bin/` under a fresh scratch directory, with a raw first
/// training batch, a gzipped second one and a gzipped test batch.
fn made_set(name: &str) -> std::path::PathBuf {
    let root = scratch(name);
    let dir = root.join(FOLDER);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data_batch_1.bin"), records(5)).unwrap();
    std::fs::write(dir.join("data_batch_2.bin.gz"), gzip(&records(3))).unwrap();
    std::fs::write(dir.join("test_batch.bin.gz"), gzip(&records(4))).unwrap();
    root
}

#[test]
fn made_files_load_from_the_folder_or_its_parent_raw_or_gzipped() {
    let root = made_set("cifar_made");
    for given in [root.clone(), root.join(FOLDER)] {
        let dir = cifar10::find(Some(&given)).unwrap();
        assert_eq!(dir, root.join(FOLDER));
        let data = Cifar10::load(&dir).unwrap();
        assert_eq!((data.train.count, data.test.count), (8, 4));
        let mut want = records(5);
        want.extend(records(3));
        let labels: Vec<u8> = want.chunks(RECORD).map(|r| r[0]).collect();
        let pixels: Vec<u8> = want.chunks(RECORD).flat_map(|r| &r[1..]).copied().collect();
        assert_eq!(data.train.labels, labels);
        assert_eq!(data.train.images, pixels);
        // No batches.meta.txt: the standard names.
        assert_eq!(data.classes[0], "airplane");
        assert_eq!(data.classes.len(), 10);
    }
}

#[test]
fn bad_files_are_refused_with_their_name() {
    let root = made_set("cifar_bad");
    let dir = root.join(FOLDER);
    let batch = dir.join("data_batch_1.bin");

    std::fs::write(&batch, &records(5)[..RECORD * 2 + 100]).unwrap();
    let m = data_error(Cifar10::load(&dir));
    assert!(
        m.contains("data_batch_1.bin") && m.contains("not a whole number"),
        "{m}"
    );

    let mut bad_label = records(5);
    bad_label[3 * RECORD] = 10;
    std::fs::write(&batch, bad_label).unwrap();
    let m = data_error(Cifar10::load(&dir));
    assert!(
        m.contains("data_batch_1.bin") && m.contains("record 3") && m.contains("label 10"),
        "{m}"
    );

    // A gzip stream cut short.
    let packed = gzip(&records(4));
    std::fs::write(dir.join("test_batch.bin.gz"), &packed[..packed.len() / 2]).unwrap();
    std::fs::write(&batch, records(5)).unwrap();
    let m = data_error(Cifar10::load(&dir));
    assert!(
        m.contains("test_batch.bin.gz") && m.contains("truncated"),
        "{m}"
    );

    // A --data-dir without the batches is an error, never silently passed over.
    let empty = scratch("cifar_empty");
    let m = data_error(cifar10::find(Some(&empty)));
    assert!(
        m.contains("CIFAR-10 not found") && m.contains("data_batch_1.bin"),
        "{m}"
    );
}

/// Nothing dropped without a word: a gap in the training batches is refused naming
/// it, a missing batch is named, and of a corrupt `.gz` beside a good `.bin` the copy
/// that reads is taken.
#[test]
fn a_gap_or_a_missing_batch_is_named_and_a_copy_that_reads_is_taken() {
    let root = made_set("cifar_gap");
    let dir = root.join(FOLDER);
    let load = || cifar10::find(Some(&root)).and_then(|d| Cifar10::load(&d));
    let aside = root.join("aside");

    std::fs::remove_file(dir.join("data_batch_2.bin.gz")).unwrap();
    std::fs::write(dir.join("data_batch_3.bin"), records(2)).unwrap();
    let m = data_error(load());
    assert!(
        m.contains("data_batch_2.bin") && m.contains("data_batch_3.bin") && m.contains("missing"),
        "{m}"
    );
    std::fs::remove_file(dir.join("data_batch_3.bin")).unwrap();

    for name in ["test_batch.bin.gz", "data_batch_1.bin"] {
        std::fs::rename(dir.join(name), &aside).unwrap();
        let m = data_error(load());
        let stem = name.trim_end_matches(".gz");
        assert!(
            m.contains(&format!("{stem} (or {stem}.gz) is missing")) && !m.contains("not found"),
            "{name}: {m}"
        );
        std::fs::rename(&aside, dir.join(name)).unwrap();
    }

    std::fs::write(dir.join("data_batch_1.bin.gz"), b"\x1f\x8b not gzip").unwrap();
    assert_eq!(load().unwrap().train.count, 5);
    std::fs::write(dir.join("data_batch_1.bin"), &records(5)[..100]).unwrap();
    let m = data_error(load());
    assert!(
        m.contains("both copies")
            && m.contains("data_batch_1.bin.gz")
            && m.contains("whole number"),
        "{m}"
    );
}

#[test]
fn the_shared_subset_loads_bit_exact_and_batches_on_the_gpu() {
    let dir = cifar10::find(Some(&cifar10_dir())).unwrap();
    let data = Cifar10::load(&dir).unwrap();
    assert_eq!((data.train.count, data.test.count), (4000, 1000));
    assert_eq!(data.classes[3], "cat");
    // The README's digests of the uncompressed files.
    let whole = |split: &duel::data::Split| -> Vec<u8> {
        split
            .labels
            .iter()
            .zip(split.images.chunks(RECORD - 1))
            .flat_map(|(&l, p)| std::iter::once(l).chain(p.iter().copied()))
            .collect()
    };
    assert_eq!(
        sha256_hex(&whole(&data.train)),
        "0993cf8b8e43bc207603aef9787006995746513f5e3fa5a52e06d1b069926330"
    );
    assert_eq!(
        sha256_hex(&whole(&data.test)),
        "8314c96d7cd65618193bab23acdd5d4c4af15bf6dd00a1781d55beedf3be1ef5"
    );

    // On the GPU, image i's pixels in [-1, 1], (C, H, W) as stored.
    let shape = ImageSet::Cifar10.image_shape();
    let images = GpuImages::upload(gpu(), &data.train.images, 4000, &shape).unwrap();
    let order = images.order(&[3999, 7]).unwrap();
    let batch = images.batch(&order, 0, 2).unwrap();
    assert_eq!(batch.shape(), [2, 3, 32, 32]);
    let got = batch.to_vec().unwrap();
    for (k, i) in [3999usize, 7].into_iter().enumerate() {
        for p in [0, 1023, 1024, 2047, 3071] {
            let byte = data.train.images[i * 3072 + p];
            assert_eq!(got[k * 3072 + p], f32::from(byte) * (2.0 / 255.0) - 1.0);
        }
    }
}

/// A `.tar.gz` holding the shared subset's test batch as the official archive lays it
/// out, and its checksum as an `Archive`.
fn archive() -> (Vec<u8>, Archive) {
    let test = std::fs::read(cifar10_dir().join(FOLDER).join("test_batch.bin.gz")).unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in [
        ("data_batch_1.bin", records(6)),
        ("test_batch.bin.gz", test),
        (
            "batches.meta.txt",
            b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n".to_vec(),
        ),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{FOLDER}/{name}"), &bytes[..])
            .unwrap();
    }
    let tar_gz = gzip(&tar.into_inner().unwrap());
    let md5: String = Md5::digest(&tar_gz)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let archive = Archive {
        name: "cifar-10-binary.tar.gz".into(),
        bytes: tar_gz.len() as u64,
        md5,
    };
    (tar_gz, archive)
}

#[test]
fn download_checks_the_archive_and_keeps_nothing_that_fails() {
    let (tar_gz, archive) = archive();
    let mut flipped = tar_gz.clone();
    flipped[tar_gz.len() / 2] ^= 0xff;
    let bad = serve(vec![(archive.name.clone(), flipped)]);
    let short = serve(vec![(archive.name.clone(), tar_gz[..1000].to_vec())]);
    let good = serve(vec![(archive.name.clone(), tar_gz)]);

    let dir = scratch("cifar_download");
    let m = data_error(cifar10::download_from(&dir, &[&bad, &short], &archive));
    assert!(m.contains("does not match the published"), "{m}");
    assert!(m.contains("bytes, the published archive has"), "{m}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "a failed download left files behind"
    );

    cifar10::download_from(&dir, &[&bad, &good], &archive).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, [FOLDER], "only the unpacked folder stays");
    let data = Cifar10::load(&cifar10::find(Some(&dir)).unwrap()).unwrap();
    assert_eq!((data.train.count, data.test.count), (6, 1000));
    assert_eq!(data.classes[9], "j");

    // The official archive's published size and MD5.
    let official = Archive::official();
    assert_eq!(
        (official.bytes, official.md5.as_str()),
        (170_052_171, "c32a1d4ab5d03f1284b67883e8d87530")
    );
}
