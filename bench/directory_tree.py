"""Subtree reads and subtree moves on a 10,000-department tree (materialised path).

Usage: .venv/bin/python bench/directory_tree.py [--database-url URL]
Default: a throwaway SQLite file. Prints per-operation latency (median of repeated runs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from sqlalchemy import text

FANOUT = (10, 10, 10, 10)  # 10 + 100 + 1,000 + 10,000 departments under one root


def build_tree(db, Department) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Insert 11,111 departments level by level with bulk inserts; return sample ids."""
    root = Department(name="root", path="/", depth=0)
    db.session.add(root)
    db.session.flush()
    root.path = f"/{root.id}/"
    level = [root]
    for depth, fanout in enumerate(FANOUT, start=1):
        next_level = []
        for parent in level:
            for i in range(fanout):
                next_level.append(
                    Department(
                        name=f"d{depth}-{parent.id}-{i}", parent_id=parent.id, path="/", depth=depth
                    )
                )
        db.session.add_all(next_level)
        db.session.flush()
        by_parent = {p.id: p for p in level}
        for department in next_level:
            department.path = f"{by_parent[department.parent_id].path}{department.id}/"
        db.session.flush()
        level = next_level
    db.session.commit()
    return {"root": root.id, "level1": root.id + 1, "level2": root.id + 11, "leaf": level[-1].id}


def timed(fn, repeat: int = 20) -> float:  # type: ignore[no-untyped-def]
    """Median wall time in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    """Build the tree and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("IDAAS_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="idaas-bench-")
    os.environ["IDAAS_INSTANCE_PATH"] = workdir
    url = args.database_url or f"sqlite:///{workdir}/bench.db"

    from idaas import create_app
    from idaas.directory import service
    from idaas.directory.models import Department
    from idaas.extensions import db

    app = create_app({"DATABASE_URL": url, "ENV": "testing"})
    with app.app_context():
        from sqlalchemy import inspect

        if "department" in inspect(db.engine).get_table_names():
            raise SystemExit(
                "refusing to run: the database already has idaas tables; "
                "point --database-url at an empty, throwaway database"
            )
        db.create_all()
        start = time.perf_counter()
        ids = build_tree(db, Department)
        total = db.session.scalar(text("SELECT count(*) FROM department"))
        print(
            f"database: {db.engine.dialect.name}; departments: {total}; "
            f"built in {time.perf_counter() - start:.1f}s"
        )
        for label in ("root", "level1", "level2", "leaf"):
            size = len(service.subtree_ids(ids[label]))
            ms = timed(lambda label=label: service.subtree_ids(ids[label]))
            rows_ms = timed(lambda label=label: service.subtree(ids[label]), repeat=5)
            print(
                f"subtree ids of {label:<6} ({size:>6} departments): {ms:8.2f} ms; "
                f"full rows: {rows_ms:8.2f} ms"
            )
        print(f"ancestors of a leaf: {timed(lambda: service.ancestors(ids['leaf'])):.2f} ms")
        other = service.create_department("system", name="elsewhere").id
        moves = []
        for target in (other, ids["root"]) * 3:
            start = time.perf_counter()
            service.move_department("system", ids["level1"], target)
            moves.append((time.perf_counter() - start) * 1000)
        print(
            f"move a 1,111-department subtree: median {statistics.median(moves):.1f} ms "
            f"(one UPDATE, one transaction)"
        )
        if db.engine.dialect.name == "postgresql":
            db.session.remove()
            db.drop_all()


if __name__ == "__main__":
    main()
