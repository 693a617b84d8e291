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
