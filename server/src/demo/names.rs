//! Word lists the demo workspace is named from.

/// Demo users: login name and display name.
pub const USERS: [(&str, &str); 24] = [
    ("alice", "Alice Moreau"),
    ("bob", "Bob Okafor"),
    ("chen", "Chen Wei"),
    ("dana", "Dana Kowalski"),
    ("emre", "Emre Yilmaz"),
    ("fatima", "Fatima Haddad"),
    ("gus", "Gus Lindqvist"),
    ("hana", "Hana Sato"),
    ("ivan", "Ivan Petrov"),
    ("jules", "Jules Bernard"),
    ("kofi", "Kofi Mensah"),
    ("lena", "Lena Fischer"),
    ("mateo", "Mateo Rossi"),
    ("nadia", "Nadia Rahman"),
    ("oscar", "Oscar Nilsen"),
    ("priya", "Priya Nair"),
    ("quinn", "Quinn Murphy"),
    ("rosa", "Rosa Delgado"),
    ("sami", "Sami Virtanen"),
    ("tara", "Tara O'Neill"),
    ("uma", "Uma Iyer"),
    ("viktor", "Viktor Horvat"),
    ("wen", "Wen Zhao"),
    ("yara", "Yara Costa"),
];

/// Project names: tasks and datasets researchers work on.
pub const PROJECTS: [&str; 24] = [
    "xray-segmentation",
    "resnet-sweep",
    "llm-finetune",
    "speech-asr",
    "retina-detect",
    "protein-fold",
    "rec-ranking",
    "vit-pretrain",
    "churn-forecast",
    "ocr-invoices",
    "weather-nowcast",
    "code-completion",
    "diffusion-faces",
    "lidar-3d",
    "fraud-gbdt",
    "translation-de-en",
    "sentiment-reviews",
    "robot-grasping",
    "tabular-automl",
    "keyword-spotting",
    "satellite-crops",
    "music-tagging",
    "qa-retrieval",
    "anomaly-sensors",
];

/// Model architectures.
pub const MODELS: [&str; 10] = [
    "resnet50",
    "resnet18",
    "vit-b16",
    "efficientnet-b3",
    "unet",
    "bert-base",
    "llama-7b",
    "gpt2-medium",
    "convnext-t",
    "lstm-2x512",
];

/// Optimizers.
pub const OPTIMIZERS: [&str; 4] = ["adamw", "sgd", "adam", "lion"];

/// Tags people put on runs.
pub const TAGS: [&str; 8] = [
    "baseline", "ablation", "sweep", "best", "debug", "fp16", "long-run", "paper",
];

/// Runner machines.
pub const RUNNERS: [&str; 5] = [
    "gpu-a100-01",
    "gpu-a100-02",
    "gpu-h100-01",
    "gpu-l4-03",
    "gpu-rtx-07",
];
