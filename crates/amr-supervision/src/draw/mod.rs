//! The draw (抽取): coordinated sampling with permanent random numbers and the random
//! assignment of inspectors, pure functions over the frozen lists and a seed, so the server,
//! `amr inspect draw` and `amr inspect verify` run the very same code.

pub mod model;
