"""The store before and after a conversation: patches, a whole-store snapshot, the diff, and the
check of the diff against a scenario's `expect.db` (anything not expected is an unexpected write).

Compared: every table of the store. Not compared: the agent's own bookkeeping (conversations,
messages, pending actions, the audit log), `executed_actions` (idempotency keys), `store_meta`
(counters such as the next order number) and the help-center search index. Rows are keyed by their
primary key, so a generated id (RF1A2B3C4D, RMA..., T...) only matters through `expect.db.added`
matchers, and times are compared after `now` / `-3d` in the expectation are resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from evals.scenario import DbExpect, Patch, is_matcher, relative_time
from tools.store import Store

EXCLUDED_TABLES = frozenset({"conversations", "messages", "pending_actions", "audit_log", "executed_actions",
                             "_migrations", "store_meta", "agent_migrations", "turn_claims", "rate_keys",
                             "rate_hits"})
INCIDENTAL_COLUMNS = frozenset({"updated_at"})  # tolerated in a row whose other changes were expected


def compared_tables(store: Store) -> list[str]:
    return sorted(t for t in store.primary_keys()
                  if t not in EXCLUDED_TABLES and not t.startswith(("help_articles", "sqlite_")))


def _key_columns(store: Store, table: str) -> list[str]:
    return store.primary_keys()[table] or ["rowid"]


Snapshot = dict[str, dict[tuple, dict[str, Any]]]


def snapshot(store: Store) -> Snapshot:
    """Every compared table's rows, keyed by primary key (`store`: a Store or a commerce backend
    with the demo schema)."""
    snap: Snapshot = {}
    for table in compared_tables(store):
        keys = _key_columns(store, table)
        select = "rowid AS rowid, *" if keys == ["rowid"] else "*"
        rows = store.all(f"SELECT {select} FROM {table}")
        snap[table] = {tuple(r[k] for k in keys): r for r in rows}
    return snap


@dataclass
class RowDiff:
    table: str
    key: tuple
    kind: str  # added | removed | changed
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    columns: list[str] = field(default_factory=list)  # changed columns

    def describe(self) -> str:
        key = "/".join(str(k) for k in self.key)
        if self.kind == "added":
            return f"new {self.table} row {_brief(self.after)}"
        if self.kind == "removed":
            return f"{self.table} row {key} deleted"
        changes = ", ".join(f"{c} {self.before[c]!r} -> {self.after[c]!r}" for c in self.columns)
        return f"{self.table} {key}: {changes}"

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "key": list(self.key), "kind": self.kind, "columns": self.columns,
                "description": self.describe()}


def _brief(row: dict[str, Any] | None) -> str:
    if not row:
        return "{}"
    return "{" + ", ".join(f"{k}: {v!r}" for k, v in row.items() if v is not None and k != "rowid") + "}"


def diff(before: Snapshot, after: Snapshot) -> list[RowDiff]:
    out: list[RowDiff] = []
    for table in sorted(set(before) | set(after)):
        b, a = before.get(table, {}), after.get(table, {})
        for key in sorted(set(b) | set(a), key=lambda k: tuple(str(x) for x in k)):
            if key not in b:
                out.append(RowDiff(table, key, "added", None, a[key]))
            elif key not in a:
                out.append(RowDiff(table, key, "removed", b[key], None))
            elif a[key] != b[key]:
                cols = [c for c in a[key] if a[key].get(c) != b[key].get(c)]
                out.append(RowDiff(table, key, "changed", b[key], a[key], cols))
    return out


# ---- patches -----------------------------------------------------------------------------------


def apply_patches(store: Store, patches: list[Patch], now: datetime) -> None:
    """Apply a scenario's patches in order, in one transaction. A patch that matches no row is an error."""
    tables = set(store.db.table_names())
    with store.write() as db:
        for i, p in enumerate(patches):
            if p.table not in tables:
                raise ValueError(f"store.patches.{i}: no table {p.table!r}")
            where = " AND ".join(f"[{k}] = :w_{k}" for k in p.where)
            params = {f"w_{k}": relative_time(v, now) for k, v in p.where.items()}
            if p.update:
                sets = ", ".join(f"[{k}] = :s_{k}" for k in p.set)
                params.update({f"s_{k}": relative_time(v, now) for k, v in p.set.items()})
                cur = db.execute(f"UPDATE [{p.table}] SET {sets} WHERE {where}", params)
            elif p.delete:
                cur = db.execute(f"DELETE FROM [{p.table}] WHERE {where}", params)
            else:
                cols = ", ".join(f"[{k}]" for k in p.values)
                marks = ", ".join(f":v_{k}" for k in p.values)
                cur = db.execute(f"INSERT INTO [{p.table}] ({cols}) VALUES ({marks})",
                                 {f"v_{k}": relative_time(v, now) for k, v in p.values.items()})
            if cur.rowcount == 0:
                raise ValueError(f"store.patches.{i}: {p.update or p.delete} {p.table} where {p.where} matched no row")


# ---- matching values ----------------------------------------------------------------------------


def value_matches(expected: Any, actual: Any, *, now: datetime, before: Any = None,
                  loose_strings: bool = False) -> bool:
    """One expected value (a scalar, a time like `now`/`-3d`, or a matcher mapping) against a value."""
    if is_matcher(expected):
        for op, arg in expected.items():
            if op == "any" and arg:
                continue
            if op == "not_null" and (actual is None) == bool(arg):
                return False
            if op == "regex" and (actual is None or not re.search(str(arg), str(actual))):
                return False
            if op == "contains" and (actual is None or str(arg).lower() not in str(actual).lower()):
                return False
            if op == "delta":
                if not isinstance(actual, (int, float)) or not isinstance(before, (int, float)) or actual - before != arg:
                    return False
            if op == "gte" and (actual is None or actual < arg):
                return False
            if op == "lte" and (actual is None or actual > arg):
                return False
        return True
    expected = relative_time(expected, now)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(k in actual and value_matches(v, actual[k], now=now, loose_strings=loose_strings)
                   for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            value_matches(e, a, now=now, loose_strings=loose_strings) for e, a in zip(expected, actual))
    if isinstance(expected, bool):
        return isinstance(actual, (bool, int)) and bool(actual) == expected
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    if loose_strings and isinstance(expected, (str, int, float)) and isinstance(actual, (str, int, float)):
        return _loose(expected) == _loose(actual)
    if isinstance(expected, (int, float)) and isinstance(actual, str) or isinstance(expected, str) and isinstance(actual, (int, float)):
        return str(expected) == str(actual)
    return expected == actual


def _loose(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value).strip().lower().lstrip("#"))


def row_matches(spec: dict[str, Any], row: dict[str, Any], *, now: datetime,
                before: dict[str, Any] | None = None) -> bool:
    return all(col in row and value_matches(exp, row[col], now=now, before=(before or {}).get(col))
               for col, exp in spec.items())


# ---- checking the diff ---------------------------------------------------------------------------


@dataclass
class DbProblem:
    message: str
    diff: RowDiff | None = None  # the write it is about (unexpected, or with a wrong value)


def check_db(expect: DbExpect, before: Snapshot, changes: list[RowDiff], now: datetime) -> list[DbProblem]:
    """Every expected change must be there, and every change must be expected."""
    problems: list[DbProblem] = []
    consumed_rows: set[int] = set()
    consumed_cols: dict[int, set[str]] = {}
    index = {(d.table, d.key): i for i, d in enumerate(changes)}

    for n, exp in enumerate(expect.changed):
        rows = [(key, row) for key, row in before.get(exp.table, {}).items()
                if row_matches(exp.where, row, now=now)]
        if exp.table not in before:
            problems.append(DbProblem(f"expect.db.changed.{n}: no table {exp.table!r} in the store"))
            continue
        if not rows:
            problems.append(DbProblem(f"expect.db.changed.{n}: no {exp.table} row where {exp.where} in the starting store"))
            continue
        for key, row in rows:
            i = index.get((exp.table, key))
            label = f"{exp.table} {'/'.join(map(str, key))}"
            if i is None or changes[i].kind != "changed":
                what = "was deleted" if i is not None else "did not change"
                want = ", ".join(f"{c} = {relative_time(v, now)!r}" for c, v in exp.set.items())
                problems.append(DbProblem(f"expected {label}: {want}; it {what}"))
                continue
            d = changes[i]
            for col, want in exp.set.items():
                got = d.after.get(col)
                if col not in d.after:
                    problems.append(DbProblem(f"expected {label}.{col}: {exp.table} has no column {col!r}"))
                elif not value_matches(want, got, now=now, before=d.before.get(col)):
                    problems.append(DbProblem(f"expected {label}.{col} = {_show(want, now)}, found {got!r} "
                                              f"(was {d.before.get(col)!r})", d))
            consumed_cols.setdefault(i, set()).update(exp.set)

    for n, exp in enumerate(expect.added):
        candidates = [i for i, d in enumerate(changes)
                      if d.kind == "added" and d.table == exp.table and i not in consumed_rows]
        hits = [i for i in candidates if row_matches(exp.match, changes[i].after, now=now)]
        if len(hits) < exp.count:
            near = "; ".join(changes[i].describe() for i in candidates) or f"no new {exp.table} rows"
            problems.append(DbProblem(f"expected {exp.count} new {exp.table} row(s) matching "
                                      f"{ {k: _show(v, now) for k, v in exp.match.items()} }, found {len(hits)} "
                                      f"({near})"))
        consumed_rows.update(hits[:exp.count])

    for n, exp in enumerate(expect.removed):
        hits = [i for i, d in enumerate(changes)
                if d.kind == "removed" and d.table == exp.table and row_matches(exp.where, d.before, now=now)]
        if not hits:
            problems.append(DbProblem(f"expected a {exp.table} row where {exp.where} to be deleted; it was not"))
        consumed_rows.update(hits)

    for i, d in enumerate(changes):
        if i in consumed_rows:
            continue
        if d.kind == "changed" and i in consumed_cols:
            extra = [c for c in d.columns if c not in consumed_cols[i] and c not in INCIDENTAL_COLUMNS]
            if not extra:
                continue
            partial = RowDiff(d.table, d.key, "changed", d.before, d.after, extra)
            problems.append(DbProblem(f"unexpected write: {partial.describe()}", partial))
            continue
        problems.append(DbProblem(f"unexpected write: {d.describe()}", d))
    return problems


def _show(value: Any, now: datetime) -> Any:
    return value if is_matcher(value) else relative_time(value, now)
