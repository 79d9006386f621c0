"""Development helper: autogenerate the next migration from `models.py`.

    python -m glues_bench.store.new_migration "add column x"

It migrates a scratch SQLite database to head, diffs it against the models and writes
`migrations/versions/NNNN_<slug>.py`. Read and edit the result before committing it.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from glues_bench.store.engine import alembic_config, create_store_engine, upgrade


def main(message: str) -> None:
    config = alembic_config()
    config.set_main_option("file_template", "%%(rev)s")  # the rev id already carries the slug
    revisions = list(ScriptDirectory.from_config(config).walk_revisions())
    next_id = f"{len(revisions) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_store_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        upgrade(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")
            command.revision(config, message=message, autogenerate=True, rev_id=f"{next_id}_{slug}"[:32])
        engine.dispose()


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or "schema change")
