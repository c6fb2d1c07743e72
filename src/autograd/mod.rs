//! The autograd tape: `Graph` records forward ops on GPU tensors, and `backward`
//! replays their backward kernels in reverse, accumulating into `Param::grad`.

mod backward;
mod graph;
mod param;

pub use graph::{Graph, Var};
pub use param::{Buffer, Param};
