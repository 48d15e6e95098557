#!/usr/bin/env python3
"""Write (or check) the independent Colombian holiday fixture used by cajero-domain's tests.

cajero computes Colombian public holidays itself (crates/cajero-domain/src/calendar.rs). To
check that code against a source nobody on the project typed by hand, this script asks the
Python package `holidays` (https://pypi.org/project/holidays/) for every Colombian holiday
from FIRST_YEAR to LAST_YEAR and writes the distinct dates of each year as a JSON fixture,
which crates/cajero-domain/tests/calendar_independent.rs compares against.

Usage:
    python3 scripts/gen-holidays-fixture.py          # (re)write the fixture
    python3 scripts/gen-holidays-fixture.py --check  # exit 1 if the committed fixture is stale

The output depends only on the installed `holidays` version (recorded in the fixture), so CI
pins it: `pip install holidays==0.108`.
"""

import argparse
import difflib
import json
import sys
from pathlib import Path

import holidays

FIRST_YEAR = 2000
LAST_YEAR = 2040
GENERATOR = "scripts/gen-holidays-fixture.py"
REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE = REPO_ROOT / "crates/cajero-domain/tests/fixtures/holidays-co-2000-2040.json"


def render() -> str:
    """The fixture's exact text: a header, then one line per year of sorted distinct dates."""
    by_year = holidays.Colombia(years=range(FIRST_YEAR, LAST_YEAR + 1))
    years = {year: [] for year in range(FIRST_YEAR, LAST_YEAR + 1)}
    for day in sorted(by_year.keys()):
        years[day.year].append(day.isoformat())
    lines = [
        "{",
        f'  "generator": {json.dumps(GENERATOR)},',
        f'  "source": {json.dumps("python package holidays, holidays.Colombia")},',
        f'  "holidays_version": {json.dumps(holidays.__version__)},',
        f'  "first_year": {FIRST_YEAR},',
        f'  "last_year": {LAST_YEAR},',
        '  "years": {',
    ]
    for index, (year, dates) in enumerate(years.items()):
        comma = "," if index < len(years) - 1 else ""
        lines.append(f'    "{year}": {json.dumps(dates)}{comma}')
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the committed fixture differs from a fresh one",
    )
    args = parser.parse_args()
    fresh = render()
    if not args.check:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(fresh, encoding="utf-8")
        print(f"wrote {FIXTURE.relative_to(REPO_ROOT)} (holidays {holidays.__version__})")
        return 0
    committed = FIXTURE.read_text(encoding="utf-8") if FIXTURE.exists() else ""
    if committed == fresh:
        print(f"{FIXTURE.relative_to(REPO_ROOT)} is up to date (holidays {holidays.__version__})")
        return 0
    diff = difflib.unified_diff(
        committed.splitlines(keepends=True),
        fresh.splitlines(keepends=True),
        fromfile="committed",
        tofile=f"holidays {holidays.__version__}",
    )
    sys.stderr.writelines(diff)
    print(
        f"{FIXTURE.relative_to(REPO_ROOT)} is stale: run python3 {GENERATOR}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
