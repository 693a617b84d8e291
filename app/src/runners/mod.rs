//! The runners page: who can take jobs, and what they run.

pub mod page;
