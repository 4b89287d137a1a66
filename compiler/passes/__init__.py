"""Optimizer passes, one per module; `flowc.compiler.optimizer.PASSES` lists them in order."""
