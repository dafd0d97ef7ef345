"""Registers shared among Subscribing States: model → loader (validation) → screening →
consult (facts and built-in findings) → notices (export from the decision log, import)."""

from __future__ import annotations

from engine.registers.loader import RegisterError, load, load_registers
from engine.registers.model import RegisterSet

__all__ = ["RegisterError", "RegisterSet", "load", "load_registers"]
