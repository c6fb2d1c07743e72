//! What a run shows besides checkpoints: the rows of metrics.csv, the loss and FD
//! charts, and (native) the CSV file and the animated GIF of the sample grids.

use super::Loss;
use crate::io::chart::{Series, YScale, line_chart};
use crate::metrics::{CLASSES, Score};
#[cfg(feature = "native")]
use crate::{Result, io};
use image::DynamicImage;
#[cfg(feature = "native")]
use std::path::Path;

#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub step: usize,
    pub epoch: usize,
    pub loss_d: f32,
    pub loss_g: f32,
    pub d_x: f32,
    pub d_g_z: f32,
    pub seconds: f64,
    /// Present on the steps that --eval-every scored.
    pub eval: Option<Eval>,
}

impl Row {
    /// [step, epoch, Loss_D, Loss_G, D(x), D(G(z))]: what the browser page reads of a
    /// step, and what its test compares.
    pub fn values(&self) -> [f64; 6] {
        [
            self.step as f64,
            self.epoch as f64,
            f64::from(self.loss_d),
            f64::from(self.loss_g),
            f64::from(self.d_x),
            f64::from(self.d_g_z),
        ]
    }
}

/// The classifier metric of one evaluation (see `duel::metrics::Score`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eval {
    pub fd: f64,
    /// Absent from files written before KID was scored.
    pub kid: Option<f64>,
    pub confidence: f64,
    pub confident_fraction: f64,
    pub entropy: f64,
    /// Samples the classifier assigns to each digit.
    pub classes: [usize; CLASSES],
    /// A conditional GAN's: the share of samples classified as the class asked for.
    pub label_accuracy: Option<f64>,
}

impl From<&Score> for Eval {
    fn from(s: &Score) -> Eval {
        Eval {
            fd: s.fd,
            kid: Some(s.kid),
            confidence: s.confidence,
            confident_fraction: s.confident_fraction,
            entropy: s.entropy,
            classes: s.histogram,
            label_accuracy: s.label_accuracy,
        }
    }
}

pub const CSV_HEADER: &str = "step,epoch,loss_d,loss_g,d_x,d_g_z,seconds,fd,confidence,confident_fraction,class_entropy,class_counts,label_accuracy,kid";

/// Rewrites metrics.csv whole, atomically (it stays small: a row per logged step).
/// Losses are written in full (Rust's shortest exact form), so runs compare bit for bit.
#[cfg(feature = "native")]
pub fn write_csv(path: &Path, rows: &[Row]) -> Result<()> {
    let mut text = format!("{CSV_HEADER}\n");
    for r in rows {
        text += &format!(
            "{},{},{},{},{},{},{:.1},",
            r.step, r.epoch, r.loss_d, r.loss_g, r.d_x, r.d_g_z, r.seconds
        );
        text += &match r.eval {
            Some(e) => format!(
                "{},{},{},{},{},{},{}\n",
                e.fd,
                e.confidence,
                e.confident_fraction,
                e.entropy,
                // ';' keeps the ten counts in one CSV field.
                e.classes.map(|c| c.to_string()).join(";"),
                e.label_accuracy.map_or(String::new(), |a| a.to_string()),
                e.kid.map_or(String::new(), |k| k.to_string())
            ),
            None => ",,,,,,\n".to_string(),
        };
    }
    io::write_bytes(path, text.as_bytes())
}

/// Reads back rows written by `write_csv`, so a resumed run keeps its history.
#[cfg(feature = "native")]
pub fn read_csv(path: &Path) -> Vec<Row> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Some(Row {
                step: f.first()?.parse().ok()?,
                epoch: f.get(1)?.parse().ok()?,
                loss_d: f.get(2)?.parse().ok()?,
                loss_g: f.get(3)?.parse().ok()?,
                d_x: f.get(4)?.parse().ok()?,
                d_g_z: f.get(5)?.parse().ok()?,
                seconds: f.get(6)?.parse().ok()?,
                eval: (|| {
                    Some(Eval {
                        fd: f.get(7)?.parse().ok()?,
                        kid: f.get(13).and_then(|k| k.parse().ok()),
                        confidence: f.get(8)?.parse().ok()?,
                        confident_fraction: f.get(9)?.parse().ok()?,
                        entropy: f.get(10)?.parse().ok()?,
                        classes: {
                            let counts: Vec<usize> = f
                                .get(11)?
                                .split(';')
                                .map(|c| c.parse().ok())
                                .collect::<Option<_>>()?;
                            counts.try_into().ok()?
                        },
                        // Absent from files written before conditional GANs.
                        label_accuracy: f.get(12).and_then(|a| a.parse().ok()),
                    })
                })(),
            })
        })
        .collect()
}

const D_COLOUR: [u8; 3] = [214, 39, 40];
const G_COLOUR: [u8; 3] = [31, 119, 180];
const FLOOR_COLOUR: [u8; 3] = [150, 150, 150];

/// Loss_D and Loss_G against the step.
pub fn loss_chart(rows: &[Row], loss: Loss) -> DynamicImage {
    let series = |label, colour, pick: fn(&Row) -> f32| Series {
        label,
        colour,
        points: rows
            .iter()
            .map(|r| (r.step as f64, f64::from(pick(r))))
            .collect(),
    };
    line_chart(
        &format!("Losses ({loss})"),
        "step",
        YScale::Linear,
        &[
            series("Loss_D", D_COLOUR, |r| r.loss_d),
            series("Loss_G", G_COLOUR, |r| r.loss_g),
        ],
    )
}

/// FD against the step, with the floor (real training images) as a flat line.
pub fn fd_chart(rows: &[Row], floor: f64) -> DynamicImage {
    let points: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| Some((r.step as f64, r.eval?.fd)))
        .collect();
    let last = points.last().map_or(1.0, |p| p.0);
    line_chart(
        "Frechet distance to real images, in classifier features (log scale)",
        "step",
        YScale::Log,
        &[
            Series {
                label: "samples",
                colour: G_COLOUR,
                points,
            },
            Series {
                label: "real images (floor)",
                colour: FLOOR_COLOUR,
                points: vec![(0.0, floor), (last, floor)],
            },
        ],
    )
}

/// The sample grids in order as an animated GIF, half a second a frame.
#[cfg(feature = "native")]
pub fn write_gif(path: &Path, frames: &[DynamicImage]) -> Result<()> {
    io::write_atomically(path, |tmp| {
        let file = std::fs::File::create(tmp)?;
        let mut encoder = image::codecs::gif::GifEncoder::new(file);
        encoder
            .set_repeat(image::codecs::gif::Repeat::Infinite)
            .map_err(std::io::Error::other)?;
        for frame in frames {
            let rgba = frame.to_rgba8();
            let delay = image::Delay::from_numer_denom_ms(500, 1);
            encoder
                .encode_frame(image::Frame::from_parts(rgba, 0, 0, delay))
                .map_err(std::io::Error::other)?;
        }
        Ok(())
    })
}
