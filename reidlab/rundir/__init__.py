"""reidlab.rundir: the run-folder contract between `train` and every tool that reads runs.

It owns every run file's name and `RunDirectory`, atomic writes (fsync of the file and its
folder), the checkpoint format (saved atomically, loaded with weights_only=True), and the
readers and writers of model_info.json and training_history.json. It imports only config:
compare, diagnose, sweep, search and deploy learn a file name here, never from the engine.
"""

from reidlab.rundir.atomic import (
    fsync_folder,
    save_npz_atomic,
    save_torch_atomic,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from reidlab.rundir.checkpoint import (
    CheckpointError,
    is_reidlab_checkpoint,
    load_checkpoint,
    load_torch_file,
    save_checkpoint,
)
from reidlab.rundir.names import (
    BEST_MODEL_FILE,
    BEST_PER_QUERY_FILE,
    CONFIG_FILE,
    EVAL_FORMAT,
    EVAL_METRICS_FILE,
    EVAL_PER_QUERY_FILE,
    FASTREID_BEST_FILE,
    FASTREID_FINAL_FILE,
    FINAL_MODEL_FILE,
    HISTORY_FILE,
    LAST_CHECKPOINT_FILE,
    LOG_FILE,
    MODEL_INFO_FILE,
    STOPPING_REASON_FILE,
    TENSORBOARD_DIR,
    RunDirectory,
    RunDirError,
    resolve_run_dir,
    validate_run_name,
)
from reidlab.rundir.records import (
    HYPERPARAMETER_KEYS,
    METRIC_KEYS,
    finite_float,
    hyperparameters,
    read_history,
    read_json,
    read_model_info,
    whole_number,
)

__all__ = [
    "BEST_MODEL_FILE",
    "BEST_PER_QUERY_FILE",
    "CONFIG_FILE",
    "EVAL_FORMAT",
    "EVAL_METRICS_FILE",
    "EVAL_PER_QUERY_FILE",
    "FASTREID_BEST_FILE",
    "FASTREID_FINAL_FILE",
    "FINAL_MODEL_FILE",
    "HISTORY_FILE",
    "HYPERPARAMETER_KEYS",
    "LAST_CHECKPOINT_FILE",
    "LOG_FILE",
    "METRIC_KEYS",
    "MODEL_INFO_FILE",
    "STOPPING_REASON_FILE",
    "TENSORBOARD_DIR",
    "CheckpointError",
    "RunDirError",
    "RunDirectory",
    "finite_float",
    "fsync_folder",
    "hyperparameters",
    "is_reidlab_checkpoint",
    "load_checkpoint",
    "load_torch_file",
    "read_history",
    "read_json",
    "read_model_info",
    "resolve_run_dir",
    "save_checkpoint",
    "save_npz_atomic",
    "save_torch_atomic",
    "validate_run_name",
    "whole_number",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_text_atomic",
]
