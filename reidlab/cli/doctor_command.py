"""`reidlab doctor --config-file F [KEY VALUE ...]`: argument parsing only; the checks live in reidlab.research.doctor.command."""

from __future__ import annotations

import argparse

from reidlab.cli.common import add_config_file, add_overrides, overrides

DESCRIPTION = (
    "Pre-flight check of a config on its real data, in a minute or two (each timed check stops at --check-seconds): the data set and P x K fit, "
    "the label range, the loss at init vs chance (ln(#ids) for a Linear classifier, the margin-adjusted "
    "value for a cosine one), overfitting one fixed batch, the weights changing, "
    "and the measured speed with the run's ETA (on the CPU, bf16 timed against float32). Writes no run directory. Exit code 1 when a check fails."
)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0 seconds, got {text}")
    return value


def add_doctor_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `doctor` on the reidlab command's subparsers; its handler returns the exit code."""
    doctor = subparsers.add_parser("doctor", help="pre-flight: data, labels, loss at init, one-batch overfit, weights change, ETA", description=DESCRIPTION)
    add_config_file(doctor)
    doctor.add_argument("--steps", type=_positive_int, default=30, metavar="N", help="optimiser steps of the one-batch overfit (default 30)")
    doctor.add_argument("--speed-steps", type=_positive_int, default=8, metavar="N", help="timed training steps for images/s and the ETA (default 8)")
    doctor.add_argument("--check-seconds", type=_positive_seconds, default=120.0, metavar="S",
                        help="time budget of each timed check (one-batch overfit, speed); a slow machine does fewer steps and says so (default 120)")
    doctor.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE")
    add_overrides(doctor)
    doctor.set_defaults(handler=run_doctor_command)
    return doctor


def run_doctor_command(args: argparse.Namespace) -> int:
    from reidlab.research.doctor import doctor_main

    return doctor_main(args.config_file, overrides(args.opts), steps=args.steps, speed_steps=args.speed_steps, json_file=args.json, check_seconds=args.check_seconds)
