//! The environment a job starts from: not the runner's whole environment (which may hold
//! secrets such as its token) but an allow-list of it.

use std::ffi::OsString;

/// Variables of the runner's environment every job gets.
const KEPT: [&str; 5] = ["PATH", "HOME", "LANG", "TZ", "TMPDIR"];
/// Prefixes of variables every job gets: locale, and the GPU stack's settings.
const KEPT_PREFIXES: [&str; 3] = ["LC_", "CUDA_", "NVIDIA_"];

/// The variables of `environment` a job inherits: the allow-list, plus the names in `passed`
/// (the runner's `--pass-env`).
pub fn inherited(
    environment: impl IntoIterator<Item = (OsString, OsString)>,
    passed: &[String],
) -> Vec<(OsString, OsString)> {
    environment
        .into_iter()
        .filter(|(name, _)| {
            name.to_str().is_some_and(|name| {
                KEPT.contains(&name)
                    || KEPT_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
                    || passed.iter().any(|p| p == name)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(names: &[&str]) -> Vec<(OsString, OsString)> {
        names
            .iter()
            .map(|n| (OsString::from(n), OsString::from("v")))
            .collect()
    }

    #[test]
    fn a_job_inherits_the_allow_list_and_the_passed_names_only() {
        let runner = pairs(&[
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "TZ",
            "TMPDIR",
            "CUDA_HOME",
            "NVIDIA_DRIVER_CAPABILITIES",
            "MILLRACE_RUNNER_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "HF_HOME",
            "PATHX",
            "XPATH",
        ]);
        let kept: Vec<OsString> = inherited(runner, &["HF_HOME".into()])
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let expected = [
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "TZ",
            "TMPDIR",
            "CUDA_HOME",
            "NVIDIA_DRIVER_CAPABILITIES",
            "HF_HOME",
        ];
        assert_eq!(kept, expected.map(OsString::from));
    }
}
