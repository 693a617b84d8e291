//! Creating a project: the one set of checks the web app, the CLI and the REST API share.

use crate::db::users::User;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::limits::{check_length, MAX_PROJECT_DESCRIPTION};
use crate::model::{Name, NewProject, ProjectSummary};

/// Creates `new` as a project of `owner`; refuses a bad name, an overlong description and a
/// name the owner already uses (archived projects included).
pub async fn create(db: &Db, owner: &User, new: &NewProject) -> Result<ProjectSummary, AppError> {
    let name = Name::parse(new.name.trim(), Name::MAX_PROJECT)
        .map_err(|e| AppError::Invalid(format!("project name '{}': {e}", new.name.trim())))?;
    check_length(
        "the description",
        &new.description,
        MAX_PROJECT_DESCRIPTION,
        true,
    )
    .map_err(AppError::Invalid)?;
    // The unique key on (owner, name) is the check: no read first that two requests at once
    // would both pass.
    db::projects::create(db, owner.id, name.as_str(), &new.description, new.private)
        .await
        .map_err(|error| match &error {
            sqlx::Error::Database(e) if e.is_unique_violation() => {
                AppError::Conflict(format!("you already have a project called {name}"))
            }
            _ => AppError::from(error),
        })?;
    db::projects::find_visible(db, owner.id, &owner.name, name.as_str())
        .await?
        .map(ProjectSummary::from)
        .ok_or(AppError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::each_backend;

    fn new(name: &str) -> NewProject {
        NewProject {
            name: name.into(),
            description: "segmenting x-rays".into(),
            private: true,
        }
    }

    #[tokio::test]
    async fn a_project_is_created_once_with_what_was_asked() {
        each_backend(|db| async move {
            let ann = db::users::create(&db, "ann", "Ann").await.unwrap();
            let made = create(&db, &ann, &new(" xray ")).await.unwrap();
            assert_eq!((made.owner.as_str(), made.name.as_str()), ("ann", "xray"));
            assert_eq!(made.description, "segmenting x-rays");
            assert!(made.private);
            assert_eq!(made.job_count, 0);
            let again = create(&db, &ann, &new("xray")).await.unwrap_err();
            assert!(
                matches!(again, AppError::Conflict(ref m) if m.contains("already")),
                "{again:?}"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn bad_names_and_long_descriptions_are_refused() {
        each_backend(|db| async move {
            let ann = db::users::create(&db, "ann", "Ann").await.unwrap();
            for name in ["", "x ray", "../up", "-x", &"a".repeat(65)] {
                let error = create(&db, &ann, &new(name)).await.unwrap_err();
                assert!(matches!(error, AppError::Invalid(_)), "{name:?}: {error:?}");
            }
            let long = NewProject {
                description: "d".repeat(MAX_PROJECT_DESCRIPTION + 1),
                ..new("fine")
            };
            let error = create(&db, &ann, &long).await.unwrap_err();
            assert!(matches!(error, AppError::Invalid(_)), "{error:?}");
            let kept = db::projects::find_visible(&db, ann.id, "ann", "fine").await;
            assert!(kept.unwrap().is_none(), "nothing half-made");
        })
        .await;
    }
}
