//! A time in the viewer's own time zone: the server cannot know it, so its HTML says UTC and
//! the browser rewrites the text once the page has hydrated (hydration sees what the server
//! sent, so nothing mismatches).

use crate::format::{time, zoned_time};
use leptos::prelude::*;

/// `ms` (epoch milliseconds) as a `<time>`, local after hydration, UTC on hover.
#[component]
pub fn LocalTime(ms: i64) -> impl IntoView {
    let text = RwSignal::new(time(ms));
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| text.set(zoned_time(ms, browser_offset_minutes(ms))));
    view! { <time title=time(ms)>{move || text.get()}</time> }
}

/// How many minutes the browser's zone is east of UTC at `ms` (daylight saving included).
fn browser_offset_minutes(ms: i64) -> i64 {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    // JavaScript counts the other way: minutes to add to local time to get UTC.
    -(date.get_timezone_offset() as i64)
}
