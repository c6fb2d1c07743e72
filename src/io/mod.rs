//! Outputs: checkpoints, sample grids, charts, and (native) files written atomically.

#[cfg(feature = "native")]
mod atomic;
pub mod chart;
pub mod checkpoint;
mod image_grid;
#[cfg(feature = "native")]
mod lock;
#[cfg(feature = "native")]
mod progress;

#[cfg(feature = "native")]
pub use atomic::{remove_stale_temporaries, write_atomically, write_bytes};
#[cfg(feature = "native")]
pub use image_grid::{grid_image, save_png};
pub use image_grid::{grid_image_async, pixel_byte, png_bytes};
#[cfg(feature = "native")]
pub use lock::{LOCK_FILE, OutputLock};
#[cfg(feature = "native")]
pub use progress::progress_bar;
