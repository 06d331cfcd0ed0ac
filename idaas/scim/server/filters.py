"""RFC 7644 §3.4.2.2 filters, parsed by scim2-models (a lark grammar), translated into SQL.

Each resource type maps its attribute paths to `Field`s that build SQL conditions; the
translation walks scim2-models' syntax tree with its `FilterVisitor`. Nothing is evaluated in
Python, so a filter is one indexed query however many accounts there are. Case-exactness
follows the attribute definitions idaas publishes in `/Schemas`: a case-insensitive attribute
is compared on its lower-cased key column where the directory keeps one (`username_key`,
`email_key`, both uniquely indexed), else on `lower(column)`.

An attribute idaas can parse but cannot translate (one it does not publish, or a read-only
sub-attribute it computes, such as `$ref`) is answered with 400 `invalidFilter`, never by
ignoring the condition.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scim2_models import InvalidFilterException
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from idaas.directory.models import ExternalReference

Op = CompareOperator


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _escape_glob(value: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in value)


def dialect() -> str:
    """The database's dialect name (`sqlite`, `postgresql`)."""
    from idaas.extensions import db

    return str(db.engine.dialect.name)


def _invalid(message: str) -> InvalidFilterException:
    return InvalidFilterException(detail=message)


class Field(ABC):
    """An attribute that can be compared in SQL."""

    sortable: ColumnElement[Any] | None = None

    @abstractmethod
    def compare(self, op: Op, value: Any) -> ColumnElement[bool]:
        """The condition `attribute op value`."""
        ...

    @abstractmethod
    def present(self) -> ColumnElement[bool]:
        """The condition `attribute pr`."""
        ...


@dataclass
class StringField(Field):
    """A string column; `lowered` when the column already holds the lower-cased value."""

    column: Any
    case_exact: bool = False
    lowered: bool = False

    @property
    def sortable(self) -> Any:  # type: ignore[override]
        return self.column

    def _sides(self, value: str) -> tuple[Any, str]:
        if self.case_exact:
            return self.column, value
        if self.lowered:
            return self.column, value.lower()
        return func.lower(self.column), value.lower()

    def compare(self, op: Op, value: Any) -> ColumnElement[bool]:
        """See `Field.compare`."""
        if value is None:
            return self._null(op)
        if not isinstance(value, str):
            raise _invalid(f"Compare this attribute with a string, not {value!r}.")
        column, text = self._sides(value)
        if op == Op.eq:
            return column == text
        if op == Op.ne:
            return or_(self.column.is_(None), column != text)
        if op in (Op.co, Op.sw, Op.ew):
            if self.case_exact and dialect() == "sqlite":
                # SQLite's LIKE ignores ASCII case; GLOB is its case-sensitive match.
                glob = _escape_glob(text)
                pattern = {Op.co: f"*{glob}*", Op.sw: f"{glob}*", Op.ew: f"*{glob}"}[op]
                return column.op("GLOB")(pattern)
            escaped = _escape_like(text)
            pattern = {
                Op.co: f"%{escaped}%",
                Op.sw: f"{escaped}%",
                Op.ew: f"%{escaped}",
            }[op]
            return column.like(pattern, escape="\\")
        return _ordering(column, op, text)

    def _null(self, op: Op) -> ColumnElement[bool]:
        if op == Op.eq:
            return self.column.is_(None)
        if op == Op.ne:
            return self.column.is_not(None)
        raise _invalid("Only eq and ne compare with null.")

    def present(self) -> ColumnElement[bool]:
        """See `Field.present`."""
        return and_(self.column.is_not(None), self.column != "")


def _ordering(column: Any, op: Op, value: Any) -> ColumnElement[bool]:
    if op == Op.gt:
        return column > value
    if op == Op.ge:
        return column >= value
    if op == Op.lt:
        return column < value
    if op == Op.le:
        return column <= value
    raise _invalid(f"The operator {op.value} does not apply to this attribute.")


@dataclass
class ColumnField(Field):
    """An attribute held in one column: sortable, present when not null, eq/ne/ordered."""

    column: Any

    @property
    def sortable(self) -> Any:  # type: ignore[override]
        return self.column

    def _ordered(self, op: Op, value: Any) -> ColumnElement[bool]:
        if op == Op.eq:
            return self.column == value
        if op == Op.ne:
            return self.column != value
        return _ordering(self.column, op, value)

    def present(self) -> ColumnElement[bool]:
        """See `Field.present`."""
        return self.column.is_not(None)


@dataclass
class IdField(ColumnField):
    """A string attribute holding an integer primary key (a group or department id)."""

    def compare(self, op: Op, value: Any) -> ColumnElement[bool]:
        """See `Field.compare`: ids compare exactly; a non-number matches nothing."""
        if not isinstance(value, str):
            raise _invalid("Compare an id with a string.")
        if op not in (Op.eq, Op.ne):
            raise _invalid("Ids are compared with eq and ne only.")
        number = int(value) if value.isdigit() and len(value) < 11 else None
        if number is None:
            return false() if op == Op.eq else true()
        return self._ordered(op, number)


@dataclass
class BoolField(Field):
    """A boolean attribute computed by a SQL predicate."""

    predicate: Any
    presence: Any = None

    @property
    def sortable(self) -> Any:  # type: ignore[override]
        return self.predicate

    def compare(self, op: Op, value: Any) -> ColumnElement[bool]:
        """See `Field.compare`: eq and ne with true or false."""
        if not isinstance(value, bool):
            raise _invalid("Compare a boolean attribute with true or false.")
        if op not in (Op.eq, Op.ne):
            raise _invalid("Booleans are compared with eq and ne only.")
        wanted = value if op == Op.eq else not value
        return self.predicate if wanted else not_(self.predicate)

    def present(self) -> ColumnElement[bool]:
        """See `Field.present`."""
        return self.presence if self.presence is not None else true()


@dataclass
class IntField(ColumnField):
    """An integer column."""

    def compare(self, op: Op, value: Any) -> ColumnElement[bool]:
        """See `Field.compare`."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _invalid("Compare an integer attribute with a number.")
        return self._ordered(op, value)


@dataclass
class DateField(ColumnField):
    """A dateTime attribute (RFC 7643 §2.3.5) stored as naive UTC."""

    def compare(self, op: Op, value: Any) -> ColumnElement[bool]:
        """See `Field.compare`: ISO 8601 date-times, ordered."""
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise _invalid(f"{value!r} is not an xsd:dateTime.") from None
        else:
            raise _invalid("Compare a dateTime attribute with a date-time string.")
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        if op in (Op.co, Op.sw, Op.ew):
            raise _invalid("co, sw and ew do not apply to dateTime attributes.")
        return self._ordered(op, moment)


@dataclass
class ConstField(Field):
    """A sub-attribute idaas always reports with one value (e.g. `emails.type` is `work`)."""

    value: Any
    presence: Any = None
    case_exact: bool = False

    def compare(self, op: Op, value: Any) -> ColumnElement[bool]:
        """See `Field.compare`: decided here, then gated on the value being present."""
        mine, theirs = self.value, value
        if isinstance(mine, str) and isinstance(theirs, str) and not self.case_exact:
            mine, theirs = mine.lower(), theirs.lower()
        if isinstance(mine, str) != isinstance(theirs, str):
            raise _invalid(f"Compare this attribute with {type(self.value).__name__}.")
        compare: dict[Op, Callable[[Any, Any], bool]] = {
            Op.eq: operator.eq,
            Op.ne: operator.ne,
            Op.co: operator.contains,
            Op.sw: str.startswith,
            Op.ew: str.endswith,
            Op.gt: operator.gt,
            Op.ge: operator.ge,
            Op.lt: operator.lt,
            Op.le: operator.le,
        }
        outcome = compare[op](mine, theirs)
        if not outcome:
            return false()
        return self.present()

    def present(self) -> ColumnElement[bool]:
        """See `Field.present`."""
        return self.presence if self.presence is not None else true()


@dataclass
class ExternalIdField(Field):
    """`externalId`: the client's own id, kept per client in `external_reference`.

    RFC 7643 §3.1: externalId is "defined by the provisioning client", so each client sees
    (and filters on) its own; `eq` uses the unique (system, object_type, external_id) index.
    """

    system: str
    object_type: str
    id_column: Any

    def _ids(self, condition: Any) -> Any:
        return select(cast(ExternalReference.object_id, Integer)).where(
            ExternalReference.system == self.system,
            ExternalReference.object_type == self.object_type,
            condition,
        )

    def compare(self, op: Op, value: Any) -> ColumnElement[bool]:
        """See `Field.compare` (caseExact)."""
        inner = StringField(ExternalReference.external_id, case_exact=True)
        if op == Op.ne:
            return not_(self.id_column.in_(self._ids(inner.compare(Op.eq, value))))
        return self.id_column.in_(self._ids(inner.compare(op, value)))

    def present(self) -> ColumnElement[bool]:
        """See `Field.present`."""
        return self.id_column.in_(self._ids(true()))


@dataclass
class MultiValued:
    """A multi-valued complex attribute stored as rows of another table.

    `rows(condition)` is an EXISTS over those rows correlated with the resource, so a value
    filter (`members[value eq "x" and display sw "A"]`) holds for one and the same row.
    """

    rows: Callable[[Any], ColumnElement[bool]]
    subs: dict[str, Field] = field(default_factory=dict)


Mapping = dict[str, Field | MultiValued]


class _Logic(FilterVisitor[ColumnElement[bool]]):
    """`not`, `and` and `or`, the same at the top level and inside `attr[...]`."""

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        """`not (filter)`."""
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        """`a and b`, `a or b`."""
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)


class SqlTranslator(_Logic):
    """Turn a scim2-models filter tree into a SQLAlchemy condition for one resource type."""

    def __init__(self, schemas: dict[str, Mapping], core: str) -> None:
        self.schemas = {urn.lower(): mapping for urn, mapping in schemas.items()}
        self.core = core.lower()

    # -- attribute resolution

    def _lookup(self, attr_path: AttrPath) -> tuple[Field | MultiValued, str | None]:
        """The field (or multi-valued attribute and sub-attribute) an attribute path names."""
        attr = attr_path.attr.lower()
        sub = attr_path.sub_attr.lower() if attr_path.sub_attr else None
        mappings: list[Mapping]
        if attr_path.uri:
            mapping = self.schemas.get(attr_path.uri.lower())
            if mapping is None:
                raise _invalid(f"Unknown schema {attr_path.uri}.")
            mappings = [mapping]
        else:
            mappings = [self.schemas[self.core]] + [
                m for urn, m in self.schemas.items() if urn != self.core
            ]
        for mapping in mappings:
            if sub is not None and f"{attr}.{sub}" in mapping:
                return mapping[f"{attr}.{sub}"], None
            if attr in mapping:
                found = mapping[attr]
                if isinstance(found, MultiValued):
                    return found, sub
                if sub is None:
                    return found, None
        raise _invalid(f"Filtering on {attr_path} is not supported.")

    def _field(self, attr_path: AttrPath) -> tuple[Field | None, MultiValued | None, Field | None]:
        found, sub = self._lookup(attr_path)
        if isinstance(found, MultiValued):
            name = sub or "value"
            inner = found.subs.get(name)
            if inner is None:
                raise _invalid(f"Filtering on {attr_path} is not supported.")
            return None, found, inner
        return found, None, None

    # -- visitor

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        """`attr op value`."""
        plain, multi, inner = self._field(node.attr_path)
        if multi is not None and inner is not None:
            return multi.rows(inner.compare(node.op, node.value))
        assert plain is not None
        return plain.compare(node.op, node.value)

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        """`attr pr`."""
        plain, multi, inner = self._field(node.attr_path)
        if multi is not None and inner is not None:
            return multi.rows(inner.present())
        assert plain is not None
        return plain.present()

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        """`attr[valFilter]`: the inner filter holds for one value of `attr`."""
        found, _ = self._lookup(node.attr_path)
        if isinstance(found, MultiValued):
            inner = _SubTranslator(found.subs, str(node.attr_path))
            return found.rows(inner.visit(node.val_filter))
        # A single-valued store (one email, one mobile): the sub-attributes are plain fields.
        prefix = node.attr_path.attr.lower()
        mapping = self._owner(node.attr_path)
        subs = {
            key.split(".", 1)[1]: value
            for key, value in mapping.items()
            if key.startswith(prefix + ".") and isinstance(value, Field)
        }
        return _SubTranslator(subs, str(node.attr_path)).visit(node.val_filter)

    def _owner(self, attr_path: AttrPath) -> Mapping:
        if attr_path.uri:
            return self.schemas[attr_path.uri.lower()]
        attr = attr_path.attr.lower()
        for mapping in [self.schemas[self.core], *self.schemas.values()]:
            if any(key == attr or key.startswith(attr + ".") for key in mapping):
                return mapping
        raise _invalid(f"Filtering on {attr_path} is not supported.")

    def sort_column(self, attr_path: AttrPath) -> Any:
        """The column to ORDER BY for `sortBy` (RFC 7644 §3.4.2.3), or invalidPath."""
        from scim2_models import InvalidPathException

        plain: Field | None = None
        if isinstance(attr_path, AttrPath):
            try:
                plain, _, _ = self._field(attr_path)
            except InvalidFilterException:
                plain = None
        column = getattr(plain, "sortable", None) if plain is not None else None
        if column is None:
            raise InvalidPathException(detail=f"Sorting by {attr_path} is not supported.")
        return column


class _SubTranslator(_Logic):
    """The filter inside `attr[...]`, over the sub-attributes of `attr`."""

    def __init__(self, subs: dict[str, Field], owner: str) -> None:
        self.subs = subs
        self.owner = owner

    def _sub(self, attr_path: AttrPath) -> Field:
        name = attr_path.attr.lower()
        if attr_path.sub_attr is not None or attr_path.uri is not None or name not in self.subs:
            raise _invalid(f"Filtering on {self.owner}.{attr_path} is not supported.")
        return self.subs[name]

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        """`sub op value`."""
        return self._sub(node.attr_path).compare(node.op, node.value)

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        """`sub pr`."""
        return self._sub(node.attr_path).present()

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        """Nested value selections are not in the grammar (RFC 7644 errata 4690)."""
        raise _invalid("Value selections cannot be nested.")


def apply_filter(
    query: Select[Any], translator: SqlTranslator, tree: FilterNode | None
) -> Select[Any]:
    """The query restricted to the resources the filter selects."""
    if tree is None:
        return query
    return query.where(translator.visit(tree))


def exists_rows(
    table_query: Callable[[], Select[Any]],
) -> Callable[[Any], ColumnElement[bool]]:
    """Build `MultiValued.rows` from a correlated select of the attribute's rows."""

    def rows(condition: Any) -> ColumnElement[bool]:
        return exists(table_query().where(condition))

    return rows
