//! Files: checkpoints, sample grids, charts and atomic writes.

mod atomic;
pub mod chart;
pub mod checkpoint;
mod image_grid;
mod progress;

pub use atomic::{remove_stale_temporaries, write_atomically, write_bytes};
pub use image_grid::{grid_image, pixel_byte, save_png};
pub use progress::progress_bar;
