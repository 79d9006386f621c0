"""The static leaderboard site: `build_site(snapshot, out_dir)` (see `build.py`)."""

from glues_bench.site.build import SiteError, build_site

__all__ = ["SiteError", "build_site"]
