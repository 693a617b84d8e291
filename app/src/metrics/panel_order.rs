//! The order of metric panels that a person chose by dragging them, kept per project in local
//! storage: it is their own arrangement of the project's keys, the same for every job of it,
//! and it does not belong in the links they share (nor fit in them with thousands of keys).

use gloo_storage::{LocalStorage, Storage};
use leptos::prelude::*;

/// The arranged order of one project's panels.
#[derive(Clone, Copy)]
pub struct PanelOrder {
    storage_key: StoredValue<String>,
    order: RwSignal<Vec<String>>,
}

impl PanelOrder {
    /// The order kept for `project` (`owner/name`), read after hydration so the first frame
    /// matches the server's.
    pub fn for_project(project: &str) -> Self {
        let storage_key = StoredValue::new(format!("millrace.panel-order:{project}"));
        let order = RwSignal::new(Vec::new());
        Effect::new(move |_| {
            let saved = storage_key.with_value(|key| LocalStorage::get::<Vec<String>>(key));
            if let Ok(saved) = saved {
                order.set(saved);
            }
        });
        Self { storage_key, order }
    }

    /// `items` in the arranged order: keys placed by hand first in their places, the rest after
    /// them in the order given. Tracked, so views re-arrange when the order changes.
    pub fn arrange<T>(&self, mut items: Vec<T>, key: impl Fn(&T) -> &str) -> Vec<T> {
        self.order.with(|order| {
            items.sort_by_key(|item| {
                order
                    .iter()
                    .position(|k| k == key(item))
                    .unwrap_or(usize::MAX)
            });
        });
        items
    }

    /// Puts the panel of `dragged` before the panel of `target`; `shown` are the keys in their
    /// current order. The new order is saved.
    pub fn drop_before(&self, dragged: &str, target: &str, shown: &[String]) {
        if dragged == target || !shown.iter().any(|k| k == dragged) {
            return;
        }
        let dragged = dragged.to_owned();
        let mut order: Vec<String> = shown.iter().filter(|k| **k != dragged).cloned().collect();
        let at = order
            .iter()
            .position(|k| k == target)
            .unwrap_or(order.len());
        order.insert(at, dragged);
        // A full storage only loses the arrangement, never the page.
        self.storage_key
            .with_value(|key| LocalStorage::set(key, &order))
            .ok();
        self.order.set(order);
    }
}
