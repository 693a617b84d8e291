-- What each of a runner's GPUs is (model, memory, UUID), as nvidia-smi told the runner: a JSON
-- array of objects beside `gpus`, the ids jobs are given.
ALTER TABLE runners ADD COLUMN gpu_models TEXT NOT NULL DEFAULT '[]';
