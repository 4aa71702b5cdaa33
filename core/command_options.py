"""Typer options that the commands of ``flows/`` and ``serve/`` share.

They live in ``core`` because those two layers may not import each other, and an option spelled twice drifts.
"""
from __future__ import annotations

import typer

HOME = typer.Option(None, "--home", help="状态目录（默认 ./.orgreg 或 $ORGREG_HOME）")
