"""reidlab.engine: training. `train()` (train.py) builds the data, the model and the Trainer from a config.

The Trainer (trainer.py) keeps the step, the epoch loop and the mapping from each failure to its
stop reason; every chore around it (best model, early stopping, time limit, run files, TensorBoard,
progress bar, log line) is a hook in `hooks/`. Import the modules directly: this `__init__` stays
empty so that importing one of them (stop_reasons, say) does not load the whole training stack.
"""
