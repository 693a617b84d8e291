//! Column widths: dragged (or moved with arrow keys) on a column's edge and kept in local
//! storage, too large a preference for the URL. Read only after hydration, so the server and
//! the browser draw the same first frame.

use gloo_storage::{LocalStorage, Storage};
use leptos::ev::{KeyboardEvent, PointerEvent};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// The local-storage key.
const KEY: &str = "millrace.column-widths";
/// Narrowest and widest a column may be made, in CSS pixels.
const MIN: i32 = 180;
const MAX: i32 = 900;
/// How far one arrow key moves the edge.
const STEP: i32 = 20;

/// The widths set by hand for the users, projects and jobs columns (`None`: the default).
#[derive(Clone, Copy)]
pub struct Widths(pub RwSignal<[Option<i32>; 3]>);

impl Widths {
    /// Starts with the defaults and, once hydrated, takes the stored widths.
    pub fn load() -> Self {
        let widths = Self(RwSignal::new([None; 3]));
        Effect::new(move |_| {
            if let Ok(saved) = LocalStorage::get::<[Option<i32>; 3]>(KEY) {
                widths.0.set(saved.map(|w| w.map(|w| w.clamp(MIN, MAX))));
            }
        });
        widths
    }

    /// The CSS width of column `index`, when set by hand.
    pub fn css(&self, index: usize) -> Option<String> {
        self.0
            .with(|w| w.get(index).copied().flatten().map(|px| format!("{px}px")))
    }

    fn set(&self, index: usize, px: i32) {
        self.0.update(|w| {
            if let Some(slot) = w.get_mut(index) {
                *slot = Some(px.clamp(MIN, MAX));
            }
        });
    }

    fn save(&self) {
        // A full or disabled storage only loses the preference.
        let _ = LocalStorage::set(KEY, self.0.get_untracked());
    }
}

/// The draggable right edge of column `index`, labelled "Resize {label}".
#[component]
pub fn ResizeHandle(index: usize, label: &'static str) -> impl IntoView {
    let widths = expect_context::<Widths>();
    // Where a drag started: pointer x and the column's width then.
    let drag = StoredValue::new(None::<(i32, i32)>);
    let column_width = |ev: &leptos::ev::Event| {
        ev.target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|handle| handle.parent_element())
            .and_then(|column| column.dyn_into::<web_sys::HtmlElement>().ok())
            .map_or(300, |column| column.offset_width())
    };
    let on_down = move |ev: PointerEvent| {
        ev.prevent_default();
        if let Some(handle) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            let _ = handle.set_pointer_capture(ev.pointer_id());
        }
        drag.set_value(Some((ev.client_x(), column_width(&ev))));
    };
    let on_move = move |ev: PointerEvent| {
        if let Some((x, width)) = drag.get_value() {
            widths.set(index, width + ev.client_x() - x);
        }
    };
    let on_up = move |_: PointerEvent| {
        if drag.get_value().is_some() {
            drag.set_value(None);
            widths.save();
        }
    };
    let on_key = move |ev: KeyboardEvent| {
        let step = match ev.key().as_str() {
            "ArrowLeft" => -STEP,
            "ArrowRight" => STEP,
            _ => return,
        };
        ev.prevent_default();
        ev.stop_propagation();
        widths.set(index, column_width(&ev) + step);
        widths.save();
    };
    view! {
        <div
            class="resize"
            role="separator"
            aria-orientation="vertical"
            aria-label=format!("Resize {label}")
            tabindex="0"
            on:pointerdown=on_down
            on:pointermove=on_move
            on:pointerup=on_up
            on:keydown=on_key
        ></div>
    }
}
