"""`reidlab doctor`: a pre-flight check of a config on its real data, before hours are spent.

`command` runs the checks in order; each lives in its own `*_check` module (data set and P x K,
labels and model, loss at init and one-batch overfit, weights changing, speed and ETA) and returns
a `CheckResult`; `report` prints them and writes the JSON form.
"""

from reidlab.research.doctor.command import CHECK_ORDER, DEFAULT_SPEED_STEPS, DEFAULT_STEPS, doctor_main, run_doctor
from reidlab.research.doctor.report import CheckResult, DoctorReport, Status

__all__ = ["CHECK_ORDER", "DEFAULT_SPEED_STEPS", "DEFAULT_STEPS", "CheckResult", "DoctorReport", "Status", "doctor_main", "run_doctor"]
