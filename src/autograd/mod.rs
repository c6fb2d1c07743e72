//! The autograd tape: `Graph` records forward ops on GPU tensors; `backward` walks
//! them in reverse, accumulating into `Param::grad`, and `grad` returns gradients that
//! can themselves be differentiated. Each op family's file holds its forwards and
//! their backward rules, the rules written in the graph's own ops.

mod activation;
mod conv;
mod dense;
mod elementwise;
mod graph;
mod loss;
mod norm;
mod op;
mod param;
mod reduce;
mod shape;
mod walk;

pub use conv::ConvKind;
pub use graph::{AllGather, Graph, Var};
pub use param::{Buffer, Param};
