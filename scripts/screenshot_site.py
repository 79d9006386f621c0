"""Open the built site in headless Chromium: dump its DOM or take a PNG screenshot (for humans).

    python scripts/screenshot_site.py leaderboard/site/index.html --screenshot shot.png
    python scripts/screenshot_site.py leaderboard/site/index.html --dump-dom > dom.html

Chromium runs with no network-facing features and a throw-away profile; the page must work from
file:// on its own. Exit code 2 when no Chromium is installed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(
    page: Path, action: list[str], *, window: str = "1600,1000", timeout: float = 60, fragment: str = ""
) -> str:
    """Run headless Chromium on a local page with extra `action` flags; returns its stdout. `fragment`:
    the URL's `#…` part (the index keeps its filter and compare state there)."""
    binary = find_chromium()
    if binary is None:
        raise FileNotFoundError("no chromium found (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="glues-chromium-") as profile:
        command = [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={window}", *action]
        command.append(page.resolve().as_uri() + (f"#{fragment}" if fragment else ""))
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"chromium exited with {result.returncode}: {result.stderr.strip()[-2000:]}")
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "page", type=Path, help="an HTML file of the built site, e.g. leaderboard/site/index.html"
    )
    parser.add_argument("--screenshot", type=Path, help="write a PNG screenshot here")
    parser.add_argument("--dump-dom", action="store_true", help="print the DOM after scripts ran")
    parser.add_argument("--window", default="1600,1000", help="window size WIDTH,HEIGHT (default 1600,1000)")
    parser.add_argument("--fragment", default="", help="URL fragment, e.g. 'origin=reported&compare=A|B'")
    args = parser.parse_args(argv)
    if not args.page.is_file():
        print(f"error: {args.page} does not exist (run glues-bench build-site first)", file=sys.stderr)
        return 2
    if find_chromium() is None:
        print("error: no chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    if args.screenshot:
        target = args.screenshot.resolve()
        run_chromium(args.page, [f"--screenshot={target}"], window=args.window, fragment=args.fragment)
        print(f"wrote {target}")
    if args.dump_dom or not args.screenshot:
        sys.stdout.write(run_chromium(args.page, ["--dump-dom"], window=args.window, fragment=args.fragment))
    return 0


if __name__ == "__main__":
    sys.exit(main())
