-- What a job needs of each GPU it is given, beside how many (`gpus`): at least this much memory,
-- and a model, written as words (`a100`, `rtx 4090`) matched against the words of the GPU's
-- name. NULL: anything will do.
ALTER TABLE jobs ADD COLUMN gpu_memory_mib INTEGER;
ALTER TABLE jobs ADD COLUMN gpu_model TEXT;
