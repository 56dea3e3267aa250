"""`python -m flamenco.manager.persistence`: regenerate schema.sql from the migrations."""

from __future__ import annotations

from pathlib import Path

from flamenco.manager.persistence import migrate

if __name__ == "__main__":
    Path(migrate.__file__).with_name("schema.sql").write_text(
        migrate.schema_sql(), encoding="utf-8"
    )
