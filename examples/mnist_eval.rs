//! Scores generated images with duel's classifier metric: FD to the real test images,
//! confidence and class entropy (and label accuracy, when the classes are known),
//! beside the floor of real training images. MNIST digits by default; CIFAR-10 photos
//! when the samples or checkpoint are colour.
//!
//! ```text
//! cargo run --release --example mnist_eval -- --samples out/samples-idx3-ubyte
//! cargo run --release --example mnist_eval -- --samples out/samples-idx3-ubyte --labels out/labels-idx1-ubyte
//! cargo run --release --example mnist_eval -- --checkpoint out/checkpoint.safetensors
//! ```
//!
//! Its flags and work are `duel::cli::EvalArgs` and `duel::cli::run_eval`.

fn main() {
    duel::cli::eval_main();
}
