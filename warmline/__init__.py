"""Warmline domain core: pure decision logic, no Temporal, HTTP or database imports."""
