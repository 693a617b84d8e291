//! What every feature's server functions share: the page size of a column and how a failed
//! call reports its HTTP status. The server functions live with their features.

/// Rows in one page of a column.
pub const PAGE_SIZE: u32 = 50;

/// Gives a failed server function the HTTP status of its error (404, 401, 400...) instead of
/// the blanket 500, so logs, proxies and browsers see a client mistake for what it is. A form
/// posted without JavaScript keeps its redirect back to the page, which shows the error.
#[cfg(feature = "ssr")]
pub(crate) fn with_status<T>(
    result: Result<T, crate::error::AppError>,
) -> Result<T, crate::error::AppError> {
    if is_plain_form_post() {
        return result;
    }
    if let Err(error) = &result {
        if let (Some(options), Ok(status)) = (
            leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
            http::StatusCode::from_u16(error.status()),
        ) {
            options.set_status(status);
        }
    }
    result
}

/// Whether the current request is a browser's own form submission (no JavaScript) rather than
/// the app's fetch: such a request cannot show an answer and is sent back to a page instead.
#[cfg(feature = "ssr")]
pub(crate) fn is_plain_form_post() -> bool {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)?
                .to_str()
                .ok()
                .map(|a| a.contains("text/html"))
        })
        .unwrap_or(false)
}
