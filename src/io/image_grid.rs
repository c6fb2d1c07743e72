//! Sample grids: a batch of images in [-1, 1], grey (one channel) or colour (three), laid
//! out as a grid PNG.

use crate::{Error, Result, Tensor, error::shape_err};
use image::DynamicImage;

/// A pixel in [-1, 1] as a byte, 0 for -1 and 255 for 1 (clamped).
pub fn pixel_byte(v: f32) -> u8 {
    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// A grid of `cols` columns from images (N, C, H, W) with C = 1 (grey) or 3 (RGB), 2
/// pixels of border between them.
pub async fn grid_image_async(images: &Tensor, cols: usize) -> Result<DynamicImage> {
    let shape = images.shape();
    let [n, c, h, w] = <[usize; 4]>::try_from(shape)
        .ok()
        .filter(|&[n, c, _, _]| n > 0 && (c == 1 || c == 3) && cols > 0)
        .ok_or_else(|| {
            shape_err!("grid_image: expected a non-empty (N, 1 or 3, H, W) batch, got {shape:?}")
        })?;
    let pixels = images.to_vec_async().await?;
    let rows = n.div_ceil(cols);
    let border = 2;
    let (width, height) = (cols * (w + border) + border, rows * (h + border) + border);
    let mut grid = vec![0u8; width * height * c];
    for i in 0..n {
        let (x0, y0) = (
            border + (i % cols) * (w + border),
            border + (i / cols) * (h + border),
        );
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let v = pixels[((i * c + ch) * h + y) * w + x];
                    grid[((y0 + y) * width + x0 + x) * c + ch] = pixel_byte(v);
                }
            }
        }
    }
    let (width, height) = (width as u32, height as u32);
    let image = if c == 1 {
        image::GrayImage::from_raw(width, height, grid).map(DynamicImage::ImageLuma8)
    } else {
        image::RgbImage::from_raw(width, height, grid).map(DynamicImage::ImageRgb8)
    };
    Ok(image.expect("the buffer is width × height × c bytes"))
}

/// `grid_image_async`, waited for.
#[cfg(feature = "native")]
pub fn grid_image(images: &Tensor, cols: usize) -> Result<DynamicImage> {
    pollster::block_on(grid_image_async(images, cols))
}

/// An image as the bytes of a PNG file.
pub fn png_bytes(img: &DynamicImage) -> Result<Vec<u8>> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| Error::Output(format!("could not encode a PNG: {e}")))?;
    Ok(bytes.into_inner())
}

/// Writes a PNG atomically.
#[cfg(feature = "native")]
pub fn save_png(path: &std::path::Path, img: &DynamicImage) -> Result<()> {
    super::write_bytes(path, &png_bytes(img)?)
}
