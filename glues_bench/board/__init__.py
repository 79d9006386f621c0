"""Leaderboard logic: pure functions of a store snapshot (tables, statistics, baselines)."""
