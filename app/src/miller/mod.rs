//! The Miller view: users → projects → jobs in columns, their rows, actions, widths and the
//! route components that open each level.

pub mod browse;
pub mod column;
pub mod page;
pub mod row_actions;
pub mod rows;
pub mod users;
pub mod widths;
