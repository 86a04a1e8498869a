"""`reidlab search`: Optuna hyperparameter search over ordinary reidlab runs, with pruning.

`command` runs the study; `space` reads the search space; `trial` trains one trial and records how
it ended; `pruning` reports mAP to Optuna and says why a trial was pruned; `storage`, `queue` and
`heartbeat` keep a study shared by several workers honest; `constraints` rejects configs that
cannot train.
"""

from reidlab.research.search.command import SearchResult, SearchSettings, run_search, search_main
from reidlab.research.search.errors import SearchError

__all__ = ["SearchError", "SearchResult", "SearchSettings", "run_search", "search_main"]
