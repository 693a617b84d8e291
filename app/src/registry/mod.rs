//! The project's Models view (`?pview=models`): the model registry's models whose versions came
//! from the project's runs, each version with its stage, aliases, the job that produced it (a
//! link into the Miller columns) and that job's latest metrics.

pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
pub mod view;
