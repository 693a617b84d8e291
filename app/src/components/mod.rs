//! Small views every feature uses: error notices, local times, the top bar of the pages
//! outside the Miller view, the not-found page.

pub mod error_notice;
pub mod local_time;
pub mod not_found;
pub mod page_bar;
