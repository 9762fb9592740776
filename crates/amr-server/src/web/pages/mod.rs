//! The page handlers, one module per area.

pub mod admin;
pub mod home;
pub mod login;
pub mod office;
