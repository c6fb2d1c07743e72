//! What a run leaves under --out besides checkpoints: metrics.csv, the loss curve,
//! and the animated GIF of the sample grids.

use duel::{Result, io};
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
}

pub const CSV_HEADER: &str = "step,epoch,loss_d,loss_g,d_x,d_g_z,seconds";

/// Rewrites metrics.csv whole, atomically (it stays small: a row per logged step).
/// Losses are written in full (Rust's shortest exact form), so runs compare bit for bit.
pub fn write_csv(path: &Path, rows: &[Row]) -> Result<()> {
    let mut text = format!("{CSV_HEADER}\n");
    for r in rows {
        text += &format!(
            "{},{},{},{},{},{},{:.1}\n",
            r.step, r.epoch, r.loss_d, r.loss_g, r.d_x, r.d_g_z, r.seconds
        );
    }
    io::write_bytes(path, text.as_bytes())
}

/// Reads back rows written by `write_csv`, so a resumed run keeps its history.
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
            })
        })
        .collect()
}

const WIDTH: u32 = 800;
const HEIGHT: u32 = 400;
const MARGIN: u32 = 30;
const D_COLOUR: [u8; 3] = [214, 39, 40];
const G_COLOUR: [u8; 3] = [31, 119, 180];

/// Loss_D (red) and Loss_G (blue) against the step, on shared axes from 0 to the
/// largest loss. A key in the top-right corner repeats the two colours.
pub fn plot_losses(path: &Path, rows: &[Row]) -> Result<()> {
    let mut img = image::RgbImage::from_pixel(WIDTH, HEIGHT, image::Rgb([255, 255, 255]));
    let (w, h) = (WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN);
    let grey = image::Rgb([120, 120, 120]);
    for x in MARGIN..=MARGIN + w {
        img.put_pixel(x, MARGIN + h, grey);
    }
    for y in MARGIN..=MARGIN + h {
        img.put_pixel(MARGIN, y, grey);
    }
    let last_step = rows.last().map_or(1, |r| r.step.max(1)) as f32;
    let top = rows
        .iter()
        .map(|r| r.loss_d.max(r.loss_g))
        .filter(|v| v.is_finite())
        .fold(1e-3, f32::max);
    // Horizontal guides at each whole loss unit, so values can be read off.
    for unit in 1..=(top as u32) {
        let y = MARGIN + h - (unit as f32 / top * h as f32) as u32;
        for x in (MARGIN..MARGIN + w).step_by(4) {
            img.put_pixel(x, y, image::Rgb([210, 210, 210]));
        }
    }
    let point = |step: usize, v: f32| {
        let x = MARGIN + (step as f32 / last_step * w as f32) as u32;
        let y = MARGIN + h - (v.clamp(0.0, top) / top * h as f32) as u32;
        (x.min(WIDTH - 1), y.min(HEIGHT - 1))
    };
    for (colour, pick) in [
        (D_COLOUR, (|r: &Row| r.loss_d) as fn(&Row) -> f32),
        (G_COLOUR, |r: &Row| r.loss_g),
    ] {
        for pair in rows.windows(2) {
            let (a, b) = (
                point(pair[0].step, pick(&pair[0])),
                point(pair[1].step, pick(&pair[1])),
            );
            draw_line(&mut img, a, b, image::Rgb(colour));
        }
    }
    for (i, colour) in [D_COLOUR, G_COLOUR].into_iter().enumerate() {
        let y0 = MARGIN + 10 + 14 * i as u32;
        for y in y0..y0 + 8 {
            for x in WIDTH - MARGIN - 40..WIDTH - MARGIN - 10 {
                img.put_pixel(x, y, image::Rgb(colour));
            }
        }
    }
    io::write_atomically(path, |tmp| {
        img.save_with_format(tmp, image::ImageFormat::Png)
            .map_err(std::io::Error::other)
    })
}

fn draw_line(
    img: &mut image::RgbImage,
    (x0, y0): (u32, u32),
    (x1, y1): (u32, u32),
    colour: image::Rgb<u8>,
) {
    let steps = x0.abs_diff(x1).max(y0.abs_diff(y1)).max(1);
    for i in 0..=steps {
        let t = i as f32 / steps as f32;
        let x = x0 as f32 + (x1 as f32 - x0 as f32) * t;
        let y = y0 as f32 + (y1 as f32 - y0 as f32) * t;
        img.put_pixel(x.round() as u32, y.round() as u32, colour);
    }
}

/// The sample grids in order as an animated GIF, half a second a frame.
pub fn write_gif(path: &Path, frames: &[image::GrayImage]) -> Result<()> {
    io::write_atomically(path, |tmp| {
        let file = std::fs::File::create(tmp)?;
        let mut encoder = image::codecs::gif::GifEncoder::new(file);
        encoder
            .set_repeat(image::codecs::gif::Repeat::Infinite)
            .map_err(std::io::Error::other)?;
        for frame in frames {
            let rgba = image::DynamicImage::ImageLuma8(frame.clone()).to_rgba8();
            let delay = image::Delay::from_numer_denom_ms(500, 1);
            encoder
                .encode_frame(image::Frame::from_parts(rgba, 0, 0, delay))
                .map_err(std::io::Error::other)?;
        }
        Ok(())
    })
}
