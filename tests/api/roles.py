"""The role table as the README states it (section "## HTTP API"): each permission a row,
each role a column, a tick where the role holds the permission. The auth-matrix test takes
what every role may do from here, so the README, `domain/access.py` and the routes are held
to one another."""

from __future__ import annotations

import re
from pathlib import Path

from backorder.domain.access import Permission, Role

README = Path(__file__).resolve().parents[2] / "README.md"
TICK = "✓"


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def readme_table(readme: Path = README) -> dict[Permission, frozenset[Role]]:
    """Each permission the README's role table names, and the roles ticked for it."""
    section = _section(readme.read_text(encoding="utf-8"), "## HTTP API")
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = next(i for i, row in enumerate(rows) if _cells(row)[0] == "permission")
    names = _cells(rows[header])
    roles = {i: Role(name.strip("`")) for i, name in enumerate(names) if name.startswith("`")}
    table: dict[Permission, frozenset[Role]] = {}
    for row in rows[header + 2 :]:
        cells = _cells(row)
        found = re.fullmatch(r"`([a-z_]+)`", cells[0])
        if found is None:  # the table ended
            break
        permission = Permission(found[1])
        wrong = {cells[i] for i in roles} - {"", TICK}
        if wrong:
            raise ValueError(f"{permission.value}: {wrong} is no tick")
        table[permission] = frozenset(role for i, role in roles.items() if cells[i] == TICK)
    return table


def readme_permissions(readme: Path = README) -> dict[Role, frozenset[Permission]]:
    """What each role may, as the README's role table says."""
    table = readme_table(readme)
    return {
        role: frozenset(permission for permission, roles in table.items() if role in roles)
        for role in Role
    }
