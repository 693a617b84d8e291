//! The width an element gets in the browser, for drawings that must not be scaled down.

use leptos::prelude::*;

/// The client width of `element` in CSS pixels: 0 on the server and until it is mounted, then
/// measured again whenever the window is resized (a phone turned, a window narrowed).
pub fn use_width(element: NodeRef<leptos::html::Div>) -> ReadSignal<u32> {
    let (width, set_width) = signal(0u32);
    let measure = move || {
        if let Some(element) = element.get_untracked() {
            set_width.set(u32::try_from(element.client_width()).unwrap_or_default());
        }
    };
    Effect::new(move |_| {
        if element.get().is_some() {
            measure();
        }
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| measure());
    on_cleanup(move || resize.remove());
    width
}
