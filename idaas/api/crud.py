"""CRUD endpoints generated from one declaration per directory collection.

A `Collection` names the path, the pydantic models, the serialiser and the service functions;
`register` adds the list / get / create / update / delete views it documents (groups, roles and
attributes have all five; accounts and departments hand-write their list and create, which
filter, page and check references) with the same `@operation`
metadata a hand-written view would carry, so the OpenAPI document stays as precise. `Members`
does the same for "accounts in X" (list, add, remove). Views keep their endpoint names
(`api.get_group`...), which `url_for` and the document's operation ids use. A `Resource`
declares the hand-written views under one URL prefix (the push and sync endpoints of an
application or a DingTalk connection) with their shared tags and scopes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from flask import url_for
from pydantic import BaseModel
from werkzeug.wrappers import Response

from idaas.api.blueprint import ID, bp
from idaas.api.http import expected_version, json_response, no_content, origin
from idaas.api.spec import operation


@dataclass(frozen=True)
class Doc:
    """The summary (OpenAPI `summary`) and one-line docstring (its `description`) of a view."""

    summary: str
    description: str


@dataclass(frozen=True)
class Collection:
    """One directory collection and everything its five CRUD views need."""

    path: str  # URL segment, e.g. "groups"
    singular: str  # endpoint stem, e.g. "group" -> get_group, create_group...
    plural: str  # e.g. "groups" -> list_groups
    tag: str
    item: type[BaseModel]
    listing: type[BaseModel] | None
    create_body: type[BaseModel]
    update_body: type[BaseModel]
    to_dict: Callable[[Any], dict[str, Any]]
    fetch: Callable[[int], Any]
    list_items: Callable[[Any], list[Any]] | None  # receives the parsed query (or None)
    create: Callable[..., Any] | None
    update: Callable[..., Any]
    delete: Callable[..., Any]
    docs: dict[str, Doc]  # the generated views, among: list, get, create, update, delete
    list_query: type[BaseModel] | None = None
    update_errors: set[int] = field(default_factory=set)
    delete_errors: set[int] = field(default_factory=set)

    @property
    def id_name(self) -> str:
        """The path argument, e.g. `group_id`."""
        return f"{self.singular}_id"


@dataclass(frozen=True)
class Members:
    """The accounts attached to one collection's objects: list, add and remove views."""

    collection: Collection
    names: tuple[str, str, str]  # endpoint names of list, add, remove
    docs: tuple[Doc, Doc, Doc]
    page_query: type[BaseModel]
    page: type[BaseModel]
    list_page: Callable[..., Response]  # (limit, cursor, **{filter: id})
    filter_name: str  # the keyword `list_page` filters on, e.g. "group_id"
    attach: Callable[[str, int, int, bool], Any]  # (origin, object id, account id, on)
    errors: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Resource:
    """The URL prefix, OpenAPI tags, scopes and common `@operation` options (`defaults`) shared
    by a group of views; GET needs the `read` scopes, the other methods the `write` ones, and a
    view's `body` / `query` parameter annotations are its body and query models."""

    base: str
    tags: list[str]
    read: list[str]
    write: list[str]
    defaults: dict[str, Any] = field(default_factory=dict)

    def view(
        self, method: str, path: str, summary: str, **options: Any
    ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """Declare a view at `base + path` with `@operation(summary, **options)`."""

        def declare(view: Callable[..., Response]) -> Callable[..., Response]:
            scopes = self.read if method == "GET" else self.write
            models = {k: v for k, v in get_type_hints(view).items() if k in ("body", "query")}
            for key, value in {**self.defaults, **models}.items():
                options.setdefault(key, value)
            declared = operation(summary, tags=self.tags, scopes=scopes, **options)(view)
            bp.route(self.base + path, methods=[method])(declared)
            return declared

        return declare

    def get(self, path: str, summary: str, **options: Any) -> Callable[..., Any]:
        """`view("GET", ...)`."""
        return self.view("GET", path, summary, **options)

    def post(self, path: str, summary: str, **options: Any) -> Callable[..., Any]:
        """`view("POST", ...)`."""
        return self.view("POST", path, summary, **options)

    def put(self, path: str, summary: str, **options: Any) -> Callable[..., Any]:
        """`view("PUT", ...)`."""
        return self.view("PUT", path, summary, **options)

    def patch(self, path: str, summary: str, **options: Any) -> Callable[..., Any]:
        """`view("PATCH", ...)`."""
        return self.view("PATCH", path, summary, **options)

    def delete(self, path: str, summary: str, **options: Any) -> Callable[..., Any]:
        """`view("DELETE", ...)`."""
        return self.view("DELETE", path, summary, **options)


def route(
    method: str,
    rule: str,
    name: str,
    doc: Doc,
    view: Callable[..., Any],
    *,
    tags: list[str],
    scopes: list[str],
    **options: Any,
) -> None:
    """Add a generated view to the API blueprint under its endpoint name and docstring (the
    OpenAPI document reads both), declared like a hand-written one."""
    view.__name__ = view.__qualname__ = name
    view.__doc__ = doc.description
    declared = operation(doc.summary, tags=tags, scopes=scopes, **options)
    bp.route(rule, methods=[method])(declared(view))


def register(c: Collection, read: list[str], write: list[str]) -> None:
    """Add the list, get, create, update and delete views of `c` to the API blueprint."""
    one = f"/{c.path}/<{ID}:{c.id_name}>"
    get_endpoint = f"api.get_{c.singular}"

    def list_view(query: Any = None) -> Response:
        assert c.list_items is not None  # documented only with a lister
        return json_response({"items": [c.to_dict(x) for x in c.list_items(query)]})

    def get_view(**ids: int) -> Response:
        obj = c.fetch(ids[c.id_name])
        return json_response(c.to_dict(obj), obj=obj)

    def create_view(body: BaseModel) -> Response:
        assert c.create is not None  # documented only with a creator
        obj = c.create(origin(), **body.model_dump())
        location = url_for(get_endpoint, **{c.id_name: obj.id})
        return json_response(c.to_dict(obj), 201, obj, location)

    def update_view(body: BaseModel, **ids: int) -> Response:
        object_id = ids[c.id_name]
        version = expected_version(c.fetch(object_id))
        changes = body.model_dump(exclude_unset=True)  # PATCH: only what was sent
        obj = c.update(origin(), object_id, expected_version=version, **changes)
        return json_response(c.to_dict(obj), obj=obj)

    def delete_view(**ids: int) -> Response:
        object_id = ids[c.id_name]
        version = expected_version(c.fetch(object_id))
        c.delete(origin(), object_id, expected_version=version)
        return no_content()

    d = c.docs
    list_options = {"query": c.list_query} if c.list_query else {}
    update_options = {"errors": c.update_errors} if c.update_errors else {}
    delete_options = {"errors": c.delete_errors} if c.delete_errors else {}
    views: list[tuple[str, str, str, Callable[..., Any], dict[str, Any]]] = [
        ("GET", f"/{c.path}", "list", list_view, {"response": c.listing, **list_options}),
        ("GET", one, "get", get_view, {"response": c.item, "etag": True}),
        ("POST", f"/{c.path}", "create", create_view, {
            "body": c.create_body, "response": c.item, "status": 201, "etag": True,
            "location": True, "write": True,
        }),
        ("PATCH", one, "update", update_view, {
            "body": c.update_body, "response": c.item, "etag": True, "if_match": True,
            "write": True, **update_options,
        }),
        ("DELETE", one, "delete", delete_view, {
            "status": 204, "if_match": True, "write": True, **delete_options,
        }),
    ]  # fmt: skip
    for method, rule, action, view, options in views:
        if action not in d:
            continue
        scopes = write if options.pop("write", False) else read
        name = f"{action}_{c.plural if action == 'list' else c.singular}"
        route(method, rule, name, d[action], view, tags=[c.tag], scopes=scopes, **options)


def register_members(m: Members, read: list[str], write: list[str]) -> None:
    """Add the list, add and remove views of the accounts attached to a collection's objects."""
    c = m.collection
    one = f"/{c.path}/<{ID}:{c.id_name}>/members"
    each = f"{one}/<{ID}:account_id>"
    errors = {"errors": m.errors} if m.errors else {}

    def list_view(query: Any, **ids: int) -> Response:
        c.fetch(ids[c.id_name])
        return m.list_page(query.limit, query.cursor, **{m.filter_name: ids[c.id_name]})

    def add_view(account_id: int, **ids: int) -> Response:
        m.attach(origin(), ids[c.id_name], account_id, True)
        return no_content()

    def remove_view(account_id: int, **ids: int) -> Response:
        m.attach(origin(), ids[c.id_name], account_id, False)
        return no_content()

    views: list[tuple[str, str, Callable[..., Any], dict[str, Any]]] = [
        ("GET", one, list_view, {"query": m.page_query, "response": m.page}),
        ("PUT", each, add_view, {"status": 204, "write": True, **errors}),
        ("DELETE", each, remove_view, {"status": 204, "write": True, **errors}),
    ]
    for (method, rule, view, options), name, doc in zip(views, m.names, m.docs, strict=True):
        scopes = write if options.pop("write", False) else read
        route(method, rule, name, doc, view, tags=[c.tag], scopes=scopes, **options)


def conventional(
    service: Any,
    models: Any,
    serialisers: Any,
    *,
    path: str,
    singular: str,
    plural: str,
    model: str,
    noun: str,
    descriptions: dict[str, str],
    **overrides: Any,
) -> Collection:
    """A `Collection` whose parts follow the house names: `service.get_<singular>`,
    `list_<plural>`, `create_/update_/delete_<singular>`; models `<Model>`, `<Model>List`,
    `<Model>Create`, `<Model>Update`; `serialisers.<singular>_to_dict`; summaries from `noun`.
    `descriptions` maps each action to generate to its docstring; `overrides` replaces any
    field (and `summaries={action: text}` any summary)."""
    article = "an" if noun[0] in "aeiou" else "a"
    summaries = {
        "list": f"List {noun}s",
        "get": f"Get {article} {noun}",
        "create": f"Create {article} {noun}",
        "update": f"Update {article} {noun}",
        "delete": f"Delete {article} {noun}",
        **overrides.pop("summaries", {}),
    }
    lister = getattr(service, f"list_{plural}", None)
    fields: dict[str, Any] = {
        "path": path,
        "singular": singular,
        "plural": plural,
        "tag": plural,
        "item": getattr(models, model),
        "listing": getattr(models, f"{model}List", None),
        "create_body": getattr(models, f"{model}Create"),
        "update_body": getattr(models, f"{model}Update"),
        "to_dict": getattr(serialisers, f"{singular}_to_dict"),
        "fetch": getattr(service, f"get_{singular}"),
        "list_items": (lambda _query: lister()) if lister else None,
        "create": getattr(service, f"create_{singular}", None),
        "update": getattr(service, f"update_{singular}"),
        "delete": getattr(service, f"delete_{singular}"),
        "docs": {a: Doc(summaries[a], d) for a, d in descriptions.items()},
    }
    fields.update(overrides)
    return Collection(**fields)
