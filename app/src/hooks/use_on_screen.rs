//! Which items of a long list are on screen or near it, told by one `IntersectionObserver`, so
//! the list fetches and draws only those.

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::collections::HashSet;

/// How far beyond the scrolled view an item counts as on screen: what a quick scroll reaches
/// next.
const AHEAD: &str = "600px 0px";

/// The scrolled box lists sit in. The margin applies to the observer's root only (a scrolled
/// ancestor clips without it), so the root must be the box that scrolls, not the window.
const SCROLLER: &str = ".pane-body";

/// The items on screen, by the `data-key` of their elements.
#[derive(Clone, Copy)]
pub struct OnScreen {
    /// `None` until the browser first reports: on the server and while hydrating, every item
    /// counts as shown, so the first frame matches the server's.
    shown: RwSignal<Option<HashSet<String>>>,
    observer: StoredValue<Option<SendWrapper<browser::Observer>>>,
}

impl OnScreen {
    /// A list's watcher; observing starts with the first element watched.
    pub fn new() -> Self {
        let on_screen = Self {
            shown: RwSignal::new(None),
            observer: StoredValue::new(None),
        };
        on_cleanup(move || {
            on_screen.observer.update_value(|observer| {
                if let Some(observer) = observer.take() {
                    observer.disconnect();
                }
            });
        });
        on_screen
    }

    /// Whether the item `key` is on screen (tracked).
    pub fn shows(&self, key: &str) -> bool {
        self.shown
            .with(|shown| shown.as_ref().is_none_or(|shown| shown.contains(key)))
    }

    /// The keys on screen, once the browser has said (tracked).
    pub fn shown(&self) -> Option<HashSet<String>> {
        self.shown.get()
    }

    /// Starts watching `element`, which carries its item's key as `data-key`. Call it in the
    /// browser only (from an effect).
    pub fn watch(&self, element: &web_sys::Element) {
        let shown = self.shown;
        self.observer.update_value(|observer| {
            observer
                .get_or_insert_with(|| {
                    let root = element.closest(SCROLLER).ok().flatten();
                    SendWrapper::new(browser::Observer::new(shown, root, AHEAD))
                })
                .watch(element);
        });
    }

    /// Stops watching `element` (removed from the list). Its key stays in the shown set: the
    /// list is being torn down or the key comes back (watched again, it is reported at once),
    /// and changing the set now would wake views that are being disposed.
    pub fn unwatch(&self, element: &web_sys::Element) {
        self.observer.try_with_value(|observer| {
            if let Some(observer) = observer {
                observer.unwatch(element);
            }
        });
    }
}

impl Default for OnScreen {
    fn default() -> Self {
        Self::new()
    }
}

mod browser {
    use leptos::prelude::*;
    use std::collections::HashSet;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit};

    /// An `IntersectionObserver` and its callback, which must live as long as it.
    pub struct Observer {
        observer: Option<IntersectionObserver>,
        _callback: Closure<dyn FnMut(js_sys::Array)>,
    }

    impl Observer {
        /// Observes with `margin` around `root` (the window with `None`), keeping `shown` up to
        /// date.
        pub fn new(
            shown: RwSignal<Option<HashSet<String>>>,
            root: Option<web_sys::Element>,
            margin: &str,
        ) -> Self {
            let callback =
                Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
                    shown.update(|shown| {
                        let shown = shown.get_or_insert_with(HashSet::new);
                        for entry in entries.iter() {
                            let Ok(entry) = entry.dyn_into::<IntersectionObserverEntry>() else {
                                continue;
                            };
                            let Some(key) = entry.target().get_attribute("data-key") else {
                                continue;
                            };
                            if entry.is_intersecting() {
                                shown.insert(key);
                            } else {
                                shown.remove(&key);
                            }
                        }
                    });
                });
            let options = IntersectionObserverInit::new();
            options.set_root_margin(margin);
            options.set_root(root.as_ref());
            let observer =
                IntersectionObserver::new_with_options(callback.as_ref().unchecked_ref(), &options)
                    .ok();
            Self {
                observer,
                _callback: callback,
            }
        }

        /// Adds `element`.
        pub fn watch(&self, element: &web_sys::Element) {
            if let Some(observer) = &self.observer {
                observer.observe(element);
            }
        }

        /// Removes `element`.
        pub fn unwatch(&self, element: &web_sys::Element) {
            if let Some(observer) = &self.observer {
                observer.unobserve(element);
            }
        }

        /// Stops observing everything.
        pub fn disconnect(&self) {
            if let Some(observer) = &self.observer {
                observer.disconnect();
            }
        }
    }
}
