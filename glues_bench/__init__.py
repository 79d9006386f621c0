"""glues-bench: a benchmark leaderboard harness for Spanish encoders on GLUES."""

__version__ = "0.1.0"
