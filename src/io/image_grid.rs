//! Sample grids: a batch of single-channel images in [-1, 1] laid out as a grid PNG.

use super::atomic::write_atomically;
use crate::{Error, Result, Tensor, error::shape_err};
use std::path::Path;

/// A grid of `cols` columns from images (N, 1, H, W), 2 pixels of border between them.
pub fn grid_image(images: &Tensor, cols: usize) -> Result<image::GrayImage> {
    let [n, c, h, w] = <[usize; 4]>::try_from(images.shape()).map_err(|_| {
        shape_err!(
            "grid_image: expected (N, 1, H, W), got {:?}",
            images.shape()
        )
    })?;
    if c != 1 || n == 0 || cols == 0 {
        return Err(shape_err!(
            "grid_image: expected a non-empty (N, 1, H, W) batch, got {:?}",
            images.shape()
        ));
    }
    let pixels = images.to_vec()?;
    let rows = n.div_ceil(cols);
    let border = 2;
    let (width, height) = (cols * (w + border) + border, rows * (h + border) + border);
    let mut grid = image::GrayImage::new(width as u32, height as u32);
    for i in 0..n {
        let (x0, y0) = (
            border + (i % cols) * (w + border),
            border + (i / cols) * (h + border),
        );
        for y in 0..h {
            for x in 0..w {
                let v = pixels[(i * h + y) * w + x];
                let byte = ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8;
                grid.put_pixel((x0 + x) as u32, (y0 + y) as u32, image::Luma([byte]));
            }
        }
    }
    Ok(grid)
}

/// Writes a PNG atomically.
pub fn save_png(path: &Path, img: &image::GrayImage) -> Result<()> {
    write_atomically(path, |tmp| {
        img.save_with_format(tmp, image::ImageFormat::Png)
            .map_err(std::io::Error::other)
    })
    .map_err(|e| Error::Data(format!("{e}")))
}
