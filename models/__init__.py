"""Contracts: pydantic models shared by workflows, activities, API, CLI and simulators."""
