//! One chart on the page: its SVG, drawn by the shared render function, and the read-out that
//! shows the nearest point of every line under the pointer (mouse hover or touch).

use crate::chart::svg::{nearest, render, Frame, Line, XScale, PALETTE};
use crate::format::number;
use leptos::ev::PointerEvent;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// A line of a chart with what the read-out calls it.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The job (or series) name shown in the read-out.
    pub label: String,
    /// The line, with its colour.
    pub line: Line,
}

#[derive(Clone, Debug, PartialEq)]
struct Reading {
    /// The pointer's distance from the chart's left edge, in CSS pixels.
    at: f64,
    /// Whether the pointer is in the right half (the read-out then opens to its left).
    right_half: bool,
    /// (colour, label, x, y) of each line's nearest point.
    rows: Vec<(usize, String, f64, f64)>,
}

/// The chart of `series` in `frame`; `x_label` names the x axis in the read-out. With `zoom`,
/// dragging the mouse across the plot selects an x range and calls it with (from, to).
#[component]
pub fn Chart(
    series: Vec<Series>,
    frame: Frame,
    x_label: &'static str,
    zoom: Option<Callback<(f64, f64)>>,
) -> impl IntoView {
    let lines: Vec<Line> = series.iter().map(|s| s.line.clone()).collect();
    let svg = render(&lines, &frame);
    let scale = XScale::of(&lines, &frame);
    let series = StoredValue::new(series);
    let reading = RwSignal::new(None::<Reading>);
    // Where a zoom drag started: (CSS px from the chart's left, x value).
    let selecting = RwSignal::new(None::<(f64, f64)>);
    let position = move |ev: &PointerEvent| -> Option<(f64, Option<f64>, f64)> {
        let chart = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())?;
        // Measured on the drawing itself: the chart's box may be wider than its SVG.
        let rect = chart
            .query_selector("svg")
            .ok()
            .flatten()
            .unwrap_or(chart)
            .get_bounding_client_rect();
        if rect.width() <= 0.0 {
            return None;
        }
        let at = f64::from(ev.client_x()) - rect.left();
        // The SVG may be drawn narrower than its frame (a phone): scale back to frame pixels.
        let px = at * f64::from(frame.width.clamp(120, 4000)) / rect.width();
        Some((at, scale.value_at(px), rect.width()))
    };
    let read = move |ev: PointerEvent| {
        let Some((at, x, width)) = position(&ev) else {
            return;
        };
        let Some(x) = x else {
            reading.set(None);
            return;
        };
        let rows = series.with_value(|all| {
            all.iter()
                .filter_map(|s| {
                    nearest(&s.line.points, x).map(|(x, y)| (s.line.color, s.label.clone(), x, y))
                })
                .collect()
        });
        reading.set(Some(Reading {
            at,
            right_half: at > width / 2.0,
            rows,
        }));
    };
    let press = move |ev: PointerEvent| {
        if zoom.is_some() && ev.pointer_type() == "mouse" && ev.button() == 0 {
            if let Some((at, Some(x), _)) = position(&ev) {
                ev.prevent_default();
                selecting.set(Some((at, x)));
            }
        }
        read(ev);
    };
    let release = move |ev: PointerEvent| {
        let Some((start_at, start_x)) = selecting.get_untracked() else {
            return;
        };
        selecting.set(None);
        let Some((at, Some(x), _)) = position(&ev) else {
            return;
        };
        // A click, not a drag: nothing to zoom into.
        if (at - start_at).abs() >= 6.0 {
            if let Some(zoom) = zoom {
                zoom.run((start_x.min(x), start_x.max(x)));
            }
        }
    };
    // A finger lifting is a leave too: keep the reading of a tap until the next one.
    let leave = move |ev: PointerEvent| {
        if ev.pointer_type() == "mouse" {
            reading.set(None);
            selecting.set(None);
        }
    };
    view! {
        <div class="chart" on:pointermove=read on:pointerdown=press on:pointerup=release on:pointerleave=leave>
            <div class="chart-svg" inner_html=svg></div>
            {move || {
                let start = selecting.get()?.0;
                let now = reading.with(|r| r.as_ref().map(|r| r.at))?;
                Some(view! {
                    <div class="zoom-band" style=format!("left: {}px; width: {}px", start.min(now), (now - start).abs())></div>
                })
            }}
            {move || reading.get().map(|r| {
                let side = if r.right_half {
                    format!("right: calc(100% - {}px)", r.at - 8.0)
                } else {
                    format!("left: {}px", r.at + 8.0)
                };
                view! {
                    <div class="guide" style=format!("left: {}px", r.at)></div>
                    <div class="readout" role="status" style=side>
                        {r.rows.into_iter().map(|(color, label, x, y)| {
                            let (red, green, blue) = PALETTE[color % PALETTE.len()];
                            view! {
                                <div class="reading">
                                    <span class="swatch" style=format!("background: rgb({red}, {green}, {blue})")></span>
                                    <span class="who">{label}</span>
                                    <span class="where">{format!("{x_label} {}", number(x))}</span>
                                    <span class="value">{number(y)}</span>
                                </div>
                            }
                        }).collect_view()}
                    </div>
                }
            })}
        </div>
    }
}
