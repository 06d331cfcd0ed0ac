"""CRUD endpoints generated from one declaration per collection (groups, roles, attributes).

A `Collection` names the path, the pydantic models, the serialiser and the service functions;
`register` adds list / get / create / update / delete views with the same `@operation`
metadata a hand-written view would carry, so the OpenAPI document stays as precise. `Members`
does the same for "accounts in X" (list, add, remove). Views keep their endpoint names
(`api.get_group`...), which `url_for` and the document's operation ids use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    listing: type[BaseModel]
    create_body: type[BaseModel]
    update_body: type[BaseModel]
    to_dict: Callable[[Any], dict[str, Any]]
    fetch: Callable[[int], Any]
    list_items: Callable[[Any], list[Any]]  # receives the parsed query (or None)
    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., Any]
    docs: dict[str, Doc]  # keys: list, get, create, update, delete
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


def _named(view: Callable[..., Any], name: str, doc: Doc) -> Callable[..., Any]:
    """Give a generated view its endpoint name and docstring (the document reads both)."""
    view.__name__ = view.__qualname__ = name
    view.__doc__ = doc.description
    return view


def register(c: Collection, read: list[str], write: list[str]) -> None:
    """Add the list, get, create, update and delete views of `c` to the API blueprint."""
    one = f"/{c.path}/<{ID}:{c.id_name}>"
    get_endpoint = f"api.get_{c.singular}"

    def list_view(query: Any = None) -> Response:
        return json_response({"items": [c.to_dict(x) for x in c.list_items(query)]})

    def get_view(**ids: int) -> Response:
        obj = c.fetch(ids[c.id_name])
        return json_response(c.to_dict(obj), obj=obj)

    def create_view(body: BaseModel) -> Response:
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
    bp.get(f"/{c.path}")(
        operation(
            d["list"].summary,
            tags=[c.tag],
            scopes=read,
            response=c.listing,
            **({"query": c.list_query} if c.list_query else {}),
        )(_named(list_view, f"list_{c.plural}", d["list"]))
    )
    bp.get(one)(
        operation(d["get"].summary, tags=[c.tag], scopes=read, response=c.item, etag=True)(
            _named(get_view, f"get_{c.singular}", d["get"])
        )
    )
    bp.post(f"/{c.path}")(
        operation(
            d["create"].summary,
            tags=[c.tag],
            scopes=write,
            body=c.create_body,
            response=c.item,
            status=201,
            etag=True,
            location=True,
        )(_named(create_view, f"create_{c.singular}", d["create"]))
    )
    bp.patch(one)(
        operation(
            d["update"].summary,
            tags=[c.tag],
            scopes=write,
            body=c.update_body,
            response=c.item,
            etag=True,
            if_match=True,
            **({"errors": c.update_errors} if c.update_errors else {}),
        )(_named(update_view, f"update_{c.singular}", d["update"]))
    )
    bp.delete(one)(
        operation(
            d["delete"].summary,
            tags=[c.tag],
            scopes=write,
            status=204,
            if_match=True,
            **({"errors": c.delete_errors} if c.delete_errors else {}),
        )(_named(delete_view, f"delete_{c.singular}", d["delete"]))
    )


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

    (list_doc, add_doc, remove_doc), (list_name, add_name, remove_name) = m.docs, m.names
    bp.get(one)(
        operation(list_doc.summary, tags=[c.tag], scopes=read, query=m.page_query, response=m.page)(
            _named(list_view, list_name, list_doc)
        )
    )
    bp.put(each)(
        operation(add_doc.summary, tags=[c.tag], scopes=write, status=204, **errors)(
            _named(add_view, add_name, add_doc)
        )
    )
    bp.delete(each)(
        operation(remove_doc.summary, tags=[c.tag], scopes=write, status=204, **errors)(
            _named(remove_view, remove_name, remove_doc)
        )
    )
