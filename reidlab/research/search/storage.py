"""Where a study lives: Optuna's journal file in the study folder by default, or a database URL.

- default: ``<study folder>/study.journal``, Optuna's JournalFileBackend. No server; several
  processes on one machine (or on a shared file system) can share it. The lock is the open-file
  kind (JournalFileOpenLock), which works on Windows too.
- ``--storage FILE``: a journal file elsewhere.
- ``--storage sqlite:///study.db`` / ``postgresql://user:pass@host/db`` / ``mysql://...``: Optuna's
  RDBStorage; PostgreSQL is the choice when machines without a shared disk run the same command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

from reidlab.research.search.errors import SearchError

JOURNAL_FILE = "study.journal"
SQLITE_BUSY_TIMEOUT_S = 60  # several workers on one SQLite file wait for each other instead of failing


@dataclass
class StudyStorage:
    storage: BaseStorage
    description: str  # what the storage is, for the console
    dashboard_command: str  # how to watch the study in optuna-dashboard


def open_storage(storage: str | None, study_folder: Path) -> StudyStorage:
    """The Optuna storage for `storage` (a URL, a journal file path, or None for the default journal file)."""
    if storage and "://" in storage:
        return _database(storage)
    journal = Path(storage) if storage else study_folder / JOURNAL_FILE
    try:
        journal.parent.mkdir(parents=True, exist_ok=True)
        path = str(journal)
        backend = JournalFileBackend(path, lock_obj=JournalFileOpenLock(path))
    except OSError as exc:
        raise SearchError(f"--storage {journal}: cannot open the journal file ({exc.strerror or exc})") from None
    return StudyStorage(JournalStorage(backend), f"journal file {journal.as_posix()}", f"optuna-dashboard {journal.as_posix()}")


def _database(url: str) -> StudyStorage:
    engine_kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}} if url.startswith("sqlite") else {}
    try:
        storage = RDBStorage(url, engine_kwargs=engine_kwargs)
    except ImportError as exc:
        raise SearchError(f"--storage {_hide_password(url)}: a database driver is missing ({exc}); install it, e.g. pip install 'psycopg[binary]' for PostgreSQL") from None
    except Exception as exc:  # sqlalchemy's connection and URL errors
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SearchError(f"--storage {_hide_password(url)}: cannot open the database: {first[:200]}") from None
    return StudyStorage(storage, f"database {_hide_password(url)}", f"optuna-dashboard {_hide_password(url)}")


def _hide_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def load_or_create_study(storage: StudyStorage, name: str, sampler: optuna.samplers.BaseSampler, pruner: optuna.pruners.BasePruner) -> optuna.Study:
    """The study of that name (maximising mAP), created by whichever worker comes first."""
    study = optuna.create_study(storage=storage.storage, study_name=name, direction="maximize", sampler=sampler, pruner=pruner, load_if_exists=True)
    if study.directions != [optuna.study.StudyDirection.MAXIMIZE]:
        raise SearchError(f"study {name} in {storage.description} minimises its objective; it is not a reidlab search (which maximises mAP)")
    return study
