-- MLflow experiments as people name and tag them.

-- The name as given where it is not a valid project name ("xray segmentation v2"), the project
-- then named by a slug of it; empty when the name is the project's name.
ALTER TABLE projects ADD COLUMN title TEXT NOT NULL DEFAULT '';

-- Experiment tags: free key-value pairs on a project.
CREATE TABLE project_tags (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (project_id, key)
) WITHOUT ROWID;
