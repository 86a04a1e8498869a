"""reidlab.research: what a researcher does with runs, one job a subpackage.

- `runs`: reading reidlab and fast-reid run folders into summaries and diagnosis evidence;
- `compare`: choosing the model to deploy (selection, BEST_MODEL_SELECTION.txt, plots, report.html);
- `diagnose`: findings with evidence (`detectors/`), remedy configs (`remedies/`), launchers, analysis.txt;
- `doctor`: the pre-flight check of a config on its data;
- `sweep`: training several configs, sequentially or by successive halving;
- `search`: Optuna hyperparameter search over ordinary runs;
- `demo`: the whole story on a built-in synthetic data set;
- `batch_rules`: the P x K and learning-rate rules that diagnose, doctor and search share.
"""
