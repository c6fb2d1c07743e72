//! Line charts as PNG: labelled axes with round tick values, a title, and a key.
//! Text is drawn with font8x8's public-domain 8×8 glyphs, so no system fonts are needed.

use font8x8::legacy::BASIC_LEGACY;
use image::{DynamicImage, Rgb, RgbImage};

const WIDTH: u32 = 800;
const HEIGHT: u32 = 420;
/// Room for the tick labels on the left and below, the title above, the key right.
const LEFT: u32 = 70;
const RIGHT: u32 = 20;
const TOP: u32 = 36;
const BOTTOM: u32 = 50;
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const INK: Rgb<u8> = Rgb([40, 40, 40]);
const AXIS: Rgb<u8> = Rgb([120, 120, 120]);
const GUIDE: Rgb<u8> = Rgb([222, 222, 222]);

/// How values map to height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YScale {
    /// From 0 (or the lowest value, if negative) to the highest value.
    Linear,
    /// Powers of ten bracketing the positive values: for quantities that fall by orders
    /// of magnitude, as a GAN's FD does. Values ≤ 0 are left out.
    Log,
}

pub struct Series<'a> {
    pub label: &'a str,
    pub colour: [u8; 3],
    /// (x, y) points in x order; non-finite y values are skipped.
    pub points: Vec<(f64, f64)>,
}

/// Draws `series` against shared axes. On a linear scale the y axis starts at 0 when
/// all values are positive, as losses are, so their sizes compare at a glance.
pub fn line_chart(title: &str, x_label: &str, scale: YScale, series: &[Series]) -> DynamicImage {
    let mut img = RgbImage::from_pixel(WIDTH, HEIGHT, WHITE);
    let (w, h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let shown = |p: &&(f64, f64)| {
        p.0.is_finite() && p.1.is_finite() && (scale == YScale::Linear || p.1 > 0.0)
    };
    let finite = || series.iter().flat_map(|s| &s.points).filter(shown);
    let x_max = finite().map(|p| p.0).fold(1.0, f64::max);
    // Ticks as (value, label), and the axis range in plotted units (log10 for Log).
    let (y_ticks, y_lo, y_hi): (Vec<(f64, String)>, f64, f64) = match scale {
        YScale::Linear => {
            let y_min = finite().map(|p| p.1).fold(0.0, f64::min);
            let y_max = finite().map(|p| p.1).fold(y_min + 1e-6, f64::max);
            let (ticks, step) = linear_ticks(y_min, y_max);
            let hi = ticks[ticks.len() - 1].max(y_max);
            let labelled = ticks.iter().map(|&v| (v, tick_text(v, step))).collect();
            (labelled, ticks[0], hi)
        }
        YScale::Log => {
            let y_min = finite().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let y_max = finite().map(|p| p.1).fold(0.0, f64::max);
            let (lo, hi) = if y_min.is_finite() {
                let lo = y_min.log10().floor();
                (lo, y_max.log10().ceil().max(lo + 1.0))
            } else {
                (0.0, 1.0)
            };
            (log_ticks(lo, hi), lo, hi)
        }
    };
    let (x_ticks, x_step) = linear_ticks(0.0, x_max);
    let x_hi = x_ticks[x_ticks.len() - 1].max(x_max);

    let to_px = |x: f64, y: f64| {
        let y = if scale == YScale::Log { y.log10() } else { y };
        let px = LEFT as f64 + x / x_hi * w as f64;
        let py = (TOP + h) as f64 - (y - y_lo) / (y_hi - y_lo) * h as f64;
        (px, py)
    };
    for (y, text) in &y_ticks {
        let (_, py) = to_px(0.0, *y);
        let py = py.round() as u32;
        for x in (LEFT..LEFT + w).step_by(3) {
            img.put_pixel(x, py, GUIDE);
        }
        let x = LEFT - 6 - 8 * text.len() as u32;
        draw_text(&mut img, x, py.saturating_sub(4), text, INK);
    }
    let x_axis_y = (TOP + h) as f64;
    for &x in &x_ticks {
        let px = LEFT as f64 + x / x_hi * w as f64;
        let px = px.round() as u32;
        for y in TOP + h..TOP + h + 4 {
            img.put_pixel(px, y, AXIS);
        }
        let text = tick_text(x, x_step);
        let half = 4 * text.len() as u32;
        draw_text(&mut img, px.saturating_sub(half), TOP + h + 8, &text, INK);
    }
    draw_line(
        &mut img,
        (LEFT as f64, TOP as f64),
        (LEFT as f64, (TOP + h) as f64),
        AXIS,
    );
    draw_line(
        &mut img,
        (LEFT as f64, x_axis_y),
        ((LEFT + w) as f64, x_axis_y),
        AXIS,
    );
    for s in series {
        let points: Vec<_> = s
            .points
            .iter()
            .filter(shown)
            .map(|&(x, y)| to_px(x, y))
            .collect();
        for pair in points.windows(2) {
            draw_line(&mut img, pair[0], pair[1], Rgb(s.colour));
        }
        if let [only] = points[..] {
            draw_line(
                &mut img,
                (only.0 - 2.0, only.1),
                (only.0 + 2.0, only.1),
                Rgb(s.colour),
            );
        }
    }
    draw_text(&mut img, LEFT, 12, title, INK);
    let x_text_width = 8 * x_label.len() as u32;
    draw_text(
        &mut img,
        LEFT + (w - x_text_width.min(w)) / 2,
        HEIGHT - 18,
        x_label,
        INK,
    );
    // The key, top right: a colour bar and the series' name on each line.
    let key_width = 8 * series.iter().map(|s| s.label.len()).max().unwrap_or(0) as u32 + 30;
    for (i, s) in series.iter().enumerate() {
        let (x0, y0) = (WIDTH - RIGHT - key_width, TOP + 8 + 14 * i as u32);
        for y in y0 + 2..y0 + 6 {
            for x in x0..x0 + 20 {
                img.put_pixel(x, y, Rgb(s.colour));
            }
        }
        draw_text(&mut img, x0 + 26, y0, s.label, INK);
    }
    img.into()
}

/// Ticks at 1, 2 and 5 times each power of ten from 10^lo to 10^hi, labelled.
fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let mut ticks = Vec::new();
    for power in lo as i32..=hi as i32 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(power);
            if v.log10() <= hi + 1e-9 {
                ticks.push((v, tick_text(v, 10f64.powi(power))));
            }
        }
    }
    ticks
}

/// Round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi],
/// about five of them, and the step.
fn linear_ticks(lo: f64, hi: f64) -> (Vec<f64>, f64) {
    let raw = (hi - lo).max(1e-9) / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * power);
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    ((first..=last).map(|i| i as f64 * step).collect(), step)
}

/// A tick value with as many decimals as its step needs.
fn tick_text(value: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{value:.decimals$}")
}

fn draw_text(img: &mut RgbImage, x: u32, y: u32, text: &str, colour: Rgb<u8>) {
    for (i, c) in text.chars().enumerate() {
        // ASCII only: the chart's labels are ours.
        let Some(glyph) = BASIC_LEGACY.get(c as usize) else {
            continue;
        };
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                let (px, py) = (x + 8 * i as u32 + col, y + row as u32);
                if bits >> col & 1 == 1 && px < img.width() && py < img.height() {
                    img.put_pixel(px, py, colour);
                }
            }
        }
    }
}

fn draw_line(img: &mut RgbImage, (x0, y0): (f64, f64), (x1, y1): (f64, f64), colour: Rgb<u8>) {
    let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as u32;
    for i in 0..=steps {
        let t = f64::from(i) / f64::from(steps);
        let (x, y) = ((x0 + (x1 - x0) * t).round(), (y0 + (y1 - y0) * t).round());
        if x >= 0.0 && y >= 0.0 && (x as u32) < img.width() && (y as u32) < img.height() {
            img.put_pixel(x as u32, y as u32, colour);
        }
    }
}
