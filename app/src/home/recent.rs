//! The projects this browser opened lately, kept in its local storage for the home view: a
//! person's own trail, which the server need not know.

use gloo_storage::{LocalStorage, Storage};

/// The local storage key.
const KEY: &str = "millrace.recent-projects";

/// Projects remembered at most.
pub const KEEP: usize = 8;

/// Notes that `project` (`owner/name`) was opened. In the browser only; a full or disabled
/// storage just forgets.
pub fn remember_project(project: &str) {
    let _ = LocalStorage::set(KEY, with_first(read(), project));
}

/// The remembered projects as (owner, name), the latest first.
pub fn remembered() -> Vec<(String, String)> {
    read()
        .iter()
        .filter_map(|project| {
            let (owner, name) = project.split_once('/')?;
            (!owner.is_empty() && !name.is_empty() && !name.contains('/'))
                .then(|| (owner.to_owned(), name.to_owned()))
        })
        .collect()
}

/// What is stored; anything else there (another version's, edited by hand) reads as nothing.
fn read() -> Vec<String> {
    LocalStorage::get(KEY).unwrap_or_default()
}

/// `list` with `project` at its front, once, and at most [`KEEP`] long.
fn with_first(mut list: Vec<String>, project: &str) -> Vec<String> {
    list.retain(|p| p != project);
    list.insert(0, project.to_owned());
    list.truncate(KEEP);
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_project_goes_first_once_and_the_oldest_drop_off() {
        let list = with_first(vec!["a/x".into(), "b/y".into()], "b/y");
        assert_eq!(list, ["b/y", "a/x"]);
        let mut list = Vec::new();
        for i in 0..12 {
            list = with_first(list, &format!("u/p{i}"));
        }
        assert_eq!(list.len(), KEEP);
        assert_eq!(
            (list[0].as_str(), list[KEEP - 1].as_str()),
            ("u/p11", "u/p4")
        );
    }
}
