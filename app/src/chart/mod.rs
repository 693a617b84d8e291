//! Metric charts, the same code in the server and the browser: downsampling, smoothing, and
//! drawing to SVG.

pub mod downsample;
pub mod settings;
pub mod smooth;
pub mod svg;
