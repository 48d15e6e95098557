#!/usr/bin/env python3
"""Which tables and indexes a SQLite database's write-ahead log is spent on.

SQLite writes every page a transaction changed, whole, to the WAL at commit. This script reads
a WAL's frames (the current generation: frames whose salts match the WAL header's), finds the
b-tree each frame's page belongs to with SQLite's `dbstat` table, and prints the frames by
index and by table, leaf and interior pages apart. It is the measurement behind the README's
"Where an order's WAL goes" (issue 12): run a load (`cajero bench payouts` keeps its database
in $TMPDIR), copy the database and its `-wal` while the load runs, and point this at the copy.

Usage:
    python3 scripts/wal-frames.py COPY.db [--orders-per-commit N]

COPY.db-wal must sit beside COPY.db. Work on a copy, taken while the load runs (the database
first, then its WAL): opening the live database could checkpoint it. The copy is opened
read-only, which cannot checkpoint or remove its WAL. `--orders-per-commit` (from the writer's profile, CAJERO_SQLITE_PROFILE:
commits and orders in the same seconds) adds frames per order. Pages are attributed by the
database as it stands after the WAL, so a page freed and reused in between counts for its new
owner. Needs a Python whose sqlite3 has dbstat (SQLITE_ENABLE_DBSTAT_VTAB; CPython's usually
does).
"""

import argparse
import collections
import sqlite3
import struct
import sys

WAL_HEADER = struct.Struct(">IIIIIIII")  # magic, version, page size, checkpoint seq, salts, sums
FRAME_HEADER = struct.Struct(">IIII")  # page number, database size after a commit (else 0), salts
WAL_MAGIC = (0x377F0682, 0x377F0683)  # the checksums' byte order, little- or big-endian


def frames(wal_path):
    """The (page number, is commit) of each frame of the WAL's current generation."""
    try:
        with open(wal_path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        sys.exit(f"{wal_path} not found: copy the database's -wal beside the copy")
    if len(data) < WAL_HEADER.size:
        return 0, []
    magic, _, page_size, _, salt1, salt2, _, _ = WAL_HEADER.unpack_from(data)
    if magic not in WAL_MAGIC:
        sys.exit(f"{wal_path} is not a SQLite WAL (magic {magic:#x})")
    frame_size = FRAME_HEADER.size + 8 + page_size  # 24-byte header: 16 read here, 8 checksums
    out = []
    last_commit = 0
    offset = WAL_HEADER.size
    while offset + frame_size <= len(data):
        page, db_size, s1, s2 = FRAME_HEADER.unpack_from(data, offset)
        if (s1, s2) != (salt1, salt2):
            break  # a frame left from before the WAL restarted
        out.append((page, db_size != 0))
        if db_size != 0:
            last_commit = len(out)
        offset += frame_size
    # Frames after the last commit frame belong to a transaction still being written when the
    # copy was taken. (Checksums are not verified: a frame torn by the copy still counts.)
    return page_size, out[:last_commit]


def owners(db_path):
    """Page number → (b-tree name, its table, page type), from dbstat."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = dict(con.execute("SELECT name, tbl_name FROM sqlite_master"))
        rows = con.execute("SELECT name, pageno, pagetype FROM dbstat")
        return {page: (name, tables.get(name, name), kind) for name, page, kind in rows}
    except sqlite3.OperationalError as error:
        sys.exit(f"reading dbstat failed ({error}): this Python's SQLite lacks dbstat")
    finally:
        con.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", help="a copy of the database, its -wal beside it")
    parser.add_argument("--orders-per-commit", type=float, help="to print frames per order")
    args = parser.parse_args()

    page_size, wal = frames(args.db + "-wal")
    if not wal:
        sys.exit("no frames in the WAL's current generation")
    commits = sum(1 for _, commit in wal if commit)
    owner = owners(args.db)
    by_tree = collections.Counter()
    by_table = collections.Counter()
    by_kind = collections.Counter()
    trees_of_table = collections.defaultdict(set)
    for page, _ in wal:
        name, table, kind = owner.get(page, ("(free or new)", "(free or new)", "?"))
        by_tree[name] += 1
        by_table[table] += 1
        by_kind[(name, kind)] += 1
        trees_of_table[table].add(name)

    per_order = None
    if args.orders_per_commit:
        per_order = commits * args.orders_per_commit
    total = len(wal)
    print(f"page size {page_size} B, {total} frames, {commits} commits, "
          f"{total / max(commits, 1):.1f} frames per commit")
    if per_order:
        print(f"{total / per_order:.2f} frames per order ({args.orders_per_commit} orders per commit)")
    interior = sum(n for (_, kind), n in by_kind.items() if kind == "internal")
    print(f"interior pages: {100 * interior / total:.1f} % of frames\n")

    def line(n, label, extra=""):
        order = f"{n / per_order:6.2f}/order " if per_order else ""
        print(f"{n:8d} {100 * n / total:5.1f} % {order} {label}{extra}")

    print("by table (all its b-trees):")
    for table, n in by_table.most_common():
        line(n, table, f"  ({len(trees_of_table[table])} b-trees)")
    print("\nby b-tree (leaf / interior / overflow pages):")
    for name, n in by_tree.most_common():
        kinds = " / ".join(str(by_kind[(name, kind)]) for kind in ("leaf", "internal", "overflow"))
        line(n, name, f"  {kinds}")


if __name__ == "__main__":
    main()
