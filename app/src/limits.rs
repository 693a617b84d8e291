//! How long the names, keys and values a run records may be: MLflow's limits, checked on every
//! route that writes them (the MLflow API, `/api/v1`, specs and server functions), so no client
//! stores what MLflow's own server would refuse, and no request stores megabytes in a name.

/// Metric, parameter and tag keys (MLflow's `MAX_ENTITY_KEY_LENGTH`).
pub const MAX_KEY: usize = 250;
/// Parameter values (MLflow's `MAX_PARAM_VAL_LENGTH`).
pub const MAX_PARAM_VALUE: usize = 6000;
/// Tag values (MLflow's `MAX_TAG_VAL_LENGTH`).
pub const MAX_TAG_VALUE: usize = 5000;
/// Run (job) names: the width of the name column of MLflow's run table.
pub const MAX_RUN_NAME: usize = 250;
/// Experiment names (MLflow's `MAX_EXPERIMENT_NAME_LENGTH`).
pub const MAX_EXPERIMENT_NAME: usize = 500;

/// Project descriptions (MLflow keeps an experiment's description in a tag).
pub const MAX_PROJECT_DESCRIPTION: usize = MAX_TAG_VALUE;

/// The latest time stored, in milliseconds since 1970: the last moment of the year 9999. Times
/// are checked against it (and against 0) where they come in, so durations, sums and rollups
/// of times never overflow.
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// Checks that `ms`, a time called `what`, lies between 1970 and the end of the year 9999.
pub fn check_time_ms(what: &str, ms: i64) -> Result<i64, String> {
    if (0..=MAX_TIME_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(format!(
            "{what} {ms} is not a time in milliseconds between 1970 and the year 9999"
        ))
    }
}

/// Checks that `text` has at most `max` characters (and at least one unless `may_be_empty`);
/// the error names `what` and the limit.
pub fn check_length(what: &str, text: &str, max: usize, may_be_empty: bool) -> Result<(), String> {
    if text.is_empty() && !may_be_empty {
        return Err(format!("{what} is empty; it has 1 to {max} characters"));
    }
    // Counting stops past the limit: a megabyte of text costs no more than the limit.
    let length = text.chars().take(max + 1).count();
    if length > max {
        return Err(format!(
            "{what} has {} characters; the limit is {max}",
            text.chars().count()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_taken_from_1970_to_the_end_of_9999() {
        assert_eq!(check_time_ms("t", 0), Ok(0));
        assert_eq!(check_time_ms("t", MAX_TIME_MS), Ok(MAX_TIME_MS));
        for bad in [-1, MAX_TIME_MS + 1, i64::MAX, i64::MIN] {
            let error = check_time_ms("end_time", bad).unwrap_err();
            assert!(error.starts_with(&format!("end_time {bad} ")), "{error}");
        }
    }

    #[test]
    fn lengths_are_counted_in_characters_and_the_error_names_the_limit() {
        assert!(check_length("tag key", &"é".repeat(250), MAX_KEY, false).is_ok());
        assert_eq!(
            check_length("tag key", &"é".repeat(251), MAX_KEY, false),
            Err("tag key has 251 characters; the limit is 250".into())
        );
        assert_eq!(
            check_length("run name", "", MAX_RUN_NAME, false),
            Err("run name is empty; it has 1 to 250 characters".into())
        );
        assert!(check_length("tag value", "", MAX_TAG_VALUE, true).is_ok());
    }
}
