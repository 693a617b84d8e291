//! Request arguments as the MLflow client sends them: a query string for GET, JSON for POST.

use super::error::MlflowError;
use crate::protojson::{double, int64};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::Method;
use serde_json::{Map, Value};

/// The arguments of one call, as a JSON object.
#[derive(Debug, Default)]
pub struct Args(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Args {
    type Rejection = MlflowError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if request.method() == Method::GET {
            let query = request.uri().query().unwrap_or_default();
            let mut args = Map::new();
            for (key, value) in form_pairs(query) {
                // Repeated keys (run_ids=a&run_ids=b) become a list.
                match args.get_mut(&key) {
                    Some(Value::Array(list)) => list.push(Value::String(value)),
                    Some(first) => *first = Value::Array(vec![first.take(), Value::String(value)]),
                    None => {
                        args.insert(key, Value::String(value));
                    }
                }
            }
            return Ok(Self(args));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| MlflowError::invalid(e.body_text()))?;
        if body.is_empty() {
            return Ok(Self::default());
        }
        match serde_json::from_slice(&body) {
            Ok(Value::Object(args)) => Ok(Self(args)),
            Ok(_) => Err(MlflowError::invalid(
                "the request body must be a JSON object",
            )),
            Err(e) => Err(MlflowError::invalid(format!("malformed JSON: {e}"))),
        }
    }
}

/// MLflow's error for a required argument that was not sent.
pub fn missing(key: &str) -> MlflowError {
    MlflowError::invalid(format!("Missing value for required parameter '{key}'."))
}

/// MLflow's error for an argument of the wrong type, the value cut short: the message must not
/// echo a huge input.
pub(super) fn invalid_value(key: &str, value: &Value) -> MlflowError {
    let shown: String = value.to_string().chars().take(100).collect();
    MlflowError::invalid(format!(
        "Invalid value {shown} for parameter '{key}' supplied"
    ))
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

impl Args {
    /// A required string argument: missing or of another type, it is refused in MLflow's words.
    pub fn str(&self, key: &str) -> Result<&str, MlflowError> {
        match self.0.get(key) {
            Some(Value::String(text)) => Ok(text),
            None | Some(Value::Null) => Err(missing(key)),
            Some(other) => Err(invalid_value(key, other)),
        }
    }

    /// An optional string argument, refused if it is sent as another type.
    pub fn opt_text(&self, key: &str) -> Result<Option<&str>, MlflowError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(invalid_value(key, other)),
        }
    }

    /// A list argument (absent means empty), refused if it is sent as another type.
    pub fn checked_list(&self, key: &str) -> Result<&[Value], MlflowError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(list)) => Ok(list),
            Some(other) => Err(invalid_value(key, other)),
        }
    }

    /// A list of strings (absent means empty): a query string sends a list of one as a plain
    /// value, and repeats the key for more.
    pub fn texts(&self, key: &str) -> Result<Vec<&str>, MlflowError> {
        match self.0.get(key) {
            Some(Value::String(one)) => Ok(vec![one]),
            _ => self
                .checked_list(key)?
                .iter()
                .map(|item| item.as_str().ok_or_else(|| invalid_value(key, item)))
                .collect(),
        }
    }

    /// An optional string argument.
    pub fn opt_str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// The run id, sent as `run_id` or the older `run_uuid`.
    pub fn run_id(&self) -> Result<&str, MlflowError> {
        match self.0.get("run_id") {
            None | Some(Value::Null) if self.0.contains_key("run_uuid") => self.str("run_uuid"),
            _ => self.str("run_id"),
        }
    }

    /// An optional int64, sent as a number or a string of digits.
    pub fn opt_i64(&self, key: &str) -> Result<Option<i64>, MlflowError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => int64(value)
                .map(Some)
                .ok_or_else(|| invalid_value(key, value)),
        }
    }

    /// An optional time in milliseconds since 1970, refused outside 1970 to the year 9999.
    pub fn opt_time_ms(&self, key: &str) -> Result<Option<i64>, MlflowError> {
        self.opt_i64(key)?
            .map(|ms| app::limits::check_time_ms(key, ms).map_err(MlflowError::invalid))
            .transpose()
    }

    /// `max_results`: `default` when not sent, refused in MLflow's words outside 1 to `most`.
    pub fn max_results(&self, default: i64, most: i64) -> Result<i64, MlflowError> {
        match self.opt_i64("max_results")? {
            None => Ok(default),
            Some(n) if (1..=most).contains(&n) => Ok(n),
            Some(n) => Err(MlflowError::invalid(format!(
                "Invalid value {n} for parameter 'max_results' supplied: max_results must be between 1 and {most}"
            ))),
        }
    }

    /// A required double, a number or "NaN" / "Infinity" / "-Infinity".
    pub fn f64(&self, key: &str) -> Result<f64, MlflowError> {
        let value = self.0.get(key).ok_or_else(|| missing(key))?;
        double(value).ok_or_else(|| invalid_value(key, value))
    }

    /// Where an offset-paged list resumes: the `page_token` a previous page returned, or 0.
    pub fn offset(&self) -> Result<usize, MlflowError> {
        match self.opt_str("page_token").filter(|t| !t.is_empty()) {
            Some(token) => token
                .parse()
                .map_err(|_| MlflowError::invalid("invalid page_token")),
            None => Ok(0),
        }
    }

    /// A list argument (absent means empty).
    pub fn list(&self, key: &str) -> &[Value] {
        self.0
            .get(key)
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_mistyped_arguments_are_refused_in_mlflows_words() {
        let args = Args(serde_json::from_str(r#"{"run_id": 31, "name": [1, 2]}"#).unwrap());
        assert_eq!(
            args.run_id().unwrap_err().message,
            "Invalid value 31 for parameter 'run_id' supplied"
        );
        assert_eq!(
            args.str("key").unwrap_err().message,
            "Missing value for required parameter 'key'."
        );
        let long =
            Args(serde_json::from_value(serde_json::json!({ "name": "x".repeat(9) })).unwrap());
        assert_eq!(long.str("name").unwrap(), "xxxxxxxxx");
        let huge =
            Args(serde_json::from_value(serde_json::json!({ "name": vec![1; 10_000] })).unwrap());
        assert!(huge.str("name").unwrap_err().message.len() < 200);
        let one =
            Args(serde_json::from_str(r#"{"order_by": "name", "stages": ["a", 1]}"#).unwrap());
        assert_eq!(one.texts("order_by").unwrap(), ["name"]);
        assert!(one.texts("stages").is_err() && one.texts("absent").unwrap().is_empty());
        let old = Args(serde_json::from_str(r#"{"run_uuid": "abc"}"#).unwrap());
        assert_eq!(old.run_id().unwrap(), "abc");
        let paged = Args(serde_json::from_str(r#"{"max_results": 0}"#).unwrap());
        assert!(paged
            .max_results(10, 100)
            .unwrap_err()
            .message
            .contains("Invalid value 0"));
        assert_eq!(Args::default().max_results(10, 100).unwrap(), 10);
    }

    #[test]
    fn query_strings_decode_and_repeat_into_lists() {
        let pairs = form_pairs("experiment_name=my+exp%2F1&run_ids=a&run_ids=b");
        assert_eq!(pairs[0], ("experiment_name".into(), "my exp/1".into()));
        assert_eq!(pairs.len(), 3);
    }
}
