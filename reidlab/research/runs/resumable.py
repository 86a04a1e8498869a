"""Where a run folder stands before training into it again: absent, done, resumable or stuck.

The folder is the truth for sweeps and for retried search trials: a run it shows as finished is
never trained again, one with a last_checkpoint.pth resumes (exactly, by the engine), and one
with a model_info.json but no checkpoint (killed in its first epoch) cannot go on in place.
"""

from __future__ import annotations

from pathlib import Path

from reidlab.rundir import LAST_CHECKPOINT_FILE, MODEL_INFO_FILE, read_json

ABSENT, DONE, RESUMABLE, STUCK = "absent", "done", "resumable", "stuck"
_RESUMABLE_REASONS = ("paused", "interrupted")


def folder_state(run_dir: Path) -> tuple[str, str | None]:
    """(ABSENT | DONE | RESUMABLE | STUCK, the recorded stop reason) of a run folder."""
    info, _ = read_json(run_dir / MODEL_INFO_FILE)
    info = info if isinstance(info, dict) else {}
    stop = info.get("stop") if isinstance(info.get("stop"), dict) else {}
    reason = stop.get("reason") if isinstance(stop.get("reason"), str) else None
    has_checkpoint = (run_dir / LAST_CHECKPOINT_FILE).is_file()
    if info.get("status") == "finished" and reason not in _RESUMABLE_REASONS:
        return DONE, reason
    if has_checkpoint:
        return RESUMABLE, reason
    if info:  # train refuses a folder with model_info.json and nothing to resume
        return STUCK, reason
    return ABSENT, None
