"""The simulator's in-memory Confluence: records for spaces, content, comments, labels, attachments, users, groups.

Dicts keep insertion order and ids only grow, so iterating a dict lists records in id order without sorting.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote_plus

ContentKind = Literal["page", "blogpost", "folder"]
CommentKind = Literal["footer", "inline"]

FIRST_CONTENT_ID = 655361
FIRST_LABEL_ID = 1048600  # above the seeded labels


def now_iso() -> str:
    """Return the current UTC time the way v2 prints it: ``2025-01-15T09:30:00.000Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def tiny_ui(content_id: str) -> str:
    """Return Confluence's short link for a content id: base64 of the little-endian id, trailing ``A`` trimmed."""
    code = base64.b64encode(int(content_id).to_bytes(8, "little")).decode().rstrip("=").rstrip("A")
    return "/x/" + code.replace("/", "-").replace("+", "_")


@dataclass(slots=True)
class Version:
    """One saved version of a page, blog post, comment or attachment, with the title and body it had."""

    number: int
    message: str
    created_at: str
    author_id: str
    minor_edit: bool = False
    title: str = ""
    storage: str = ""
    adf: str | None = None


@dataclass(slots=True)
class Space:
    """A space; v1 addresses it by ``key``, v2 by numeric ``id``."""

    id: str
    key: str
    name: str
    type: str
    status: str
    homepage_id: str | None
    author_id: str
    created_at: str
    description: str = ""


@dataclass(slots=True)
class Content:
    """A page, blog post or folder; ``versions[-1]`` is the current version."""

    id: str
    kind: ContentKind
    space_id: str
    title: str
    status: str
    parent_id: str | None
    author_id: str
    owner_id: str
    created_at: str
    storage: str
    adf: str | None
    versions: list[Version]
    position: int
    label_ids: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> Version:
        """Return the current version."""
        return self.versions[-1]


@dataclass(slots=True)
class Comment:
    """A footer or inline comment on a page or blog post, or a reply to another comment."""

    id: str
    kind: CommentKind
    container_id: str
    container_kind: ContentKind
    parent_comment_id: str | None
    title: str
    status: str
    storage: str
    adf: str | None
    versions: list[Version]
    created_at: str
    author_id: str
    resolution_status: str | None = None
    original_selection: str | None = None
    marker_ref: str | None = None

    @property
    def version(self) -> Version:
        """Return the current version."""
        return self.versions[-1]


@dataclass(slots=True)
class Label:
    """A label; the same (prefix, name) is one label site-wide."""

    id: str
    prefix: str
    name: str


@dataclass(slots=True)
class Attachment:
    """A file attached to a page or blog post: its metadata, and its bytes for the media host."""

    id: str
    container_id: str
    container_kind: ContentKind
    title: str
    media_type: str
    file_size: int
    comment: str
    file_id: str
    status: str
    created_at: str
    author_id: str
    version_number: int = 1
    data: bytes | None = None
    """The file the media host serves; None serves ``file_size`` placeholder bytes."""


@dataclass(slots=True)
class User:
    """An Atlassian account; ``email`` may be ``None`` as under a privacy setting."""

    account_id: str
    email: str | None
    display_name: str
    time_zone: str = "Europe/London"
    account_type: str = "atlassian"


@dataclass(slots=True)
class Group:
    """A group with member account ids in joining order."""

    id: str
    name: str
    members: list[str] = field(default_factory=list)


class State:
    """All simulated data of one site; ``clear()`` empties it in place so references stay valid."""

    def __init__(self, *, email: str) -> None:
        self.email = email
        self.current_account_id = ""
        self.spaces: dict[str, Space] = {}
        self.space_ids_by_key: dict[str, str] = {}
        self.content: dict[str, Content] = {}
        self.comments: dict[str, Comment] = {}
        self.labels: dict[str, Label] = {}
        self.label_ids_by_key: dict[tuple[str, str], str] = {}
        self.attachments: dict[str, Attachment] = {}
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self._next_content_id = FIRST_CONTENT_ID
        self._next_label_id = FIRST_LABEL_ID
        self.rendered: dict[tuple[str, str | None, bool, str], tuple[tuple[object, ...], bytes]] = {}
        """Encoded single-content GETs keyed by (id, body-format, include-version, base), with a staleness key."""
        self.media_url = ""
        """Base URL of the media host downloads redirect to (``http://127.0.0.1:PORT``); empty: the site's own."""
        self.media_secret = secrets.token_bytes(16)
        """Signs media URLs, as Atlassian's media tokens are signed."""

    def clear(self) -> None:
        """Forget every record and restart id allocation."""
        for table in (
            self.spaces,
            self.space_ids_by_key,
            self.content,
            self.comments,
            self.labels,
            self.label_ids_by_key,
            self.attachments,
            self.users,
            self.groups,
            self.rendered,
        ):
            table.clear()
        self.current_account_id = ""
        self._next_content_id = FIRST_CONTENT_ID
        self._next_label_id = FIRST_LABEL_ID

    def new_content_id(self) -> str:
        """Allocate an id for a page, blog post, folder, comment or attachment."""
        value = self._next_content_id
        self._next_content_id += 1
        return str(value)

    def add_space(self, space: Space) -> Space:
        """Store ``space`` and index its key."""
        self.spaces[space.id] = space
        self.space_ids_by_key[space.key] = space.id
        return space

    def add_content(self, item: Content) -> Content:
        """Store a page, blog post or folder and compute its links."""
        self.content[item.id] = item
        self.refresh_links(item)
        return item

    def refresh_links(self, item: Content) -> None:
        """Recompute the ``_links`` of ``item`` (they embed the title)."""
        space_key = self.spaces[item.space_id].key
        slug = quote_plus(item.title)
        if item.kind == "page":
            item.links = {
                "editui": f"/pages/resumedraft.action?draftId={item.id}",
                "webui": f"/spaces/{space_key}/pages/{item.id}/{slug}",
                "edituiv2": f"/spaces/{space_key}/pages/edit-v2/{item.id}",
                "tinyui": tiny_ui(item.id),
            }
        elif item.kind == "blogpost":
            day = item.created_at[:10].replace("-", "/")
            item.links = {
                "editui": f"/pages/resumedraft.action?draftId={item.id}",
                "webui": f"/spaces/{space_key}/blog/{day}/{item.id}/{slug}",
                "edituiv2": f"/spaces/{space_key}/blog/edit-v2/{item.id}",
                "tinyui": tiny_ui(item.id),
            }
        else:
            item.links = {"webui": f"/spaces/{space_key}/folder/{item.id}"}

    def label(self, prefix: str, name: str) -> Label:
        """Return the site-wide label ``prefix:name``, creating it on first use."""
        label_id = self.label_ids_by_key.get((prefix, name))
        if label_id is not None:
            return self.labels[label_id]
        label = Label(id=str(self._next_label_id), prefix=prefix, name=name)
        self._next_label_id += 1
        self.labels[label.id] = label
        self.label_ids_by_key[(prefix, name)] = label.id
        return label

    def parent_kind(self, item: Content | None) -> ContentKind | None:
        """Return the kind of ``item``'s parent (``"page"`` or ``"folder"``), or ``None`` at the space root."""
        if item is None or item.parent_id is None:
            return None
        parent = self.content.get(item.parent_id)
        return parent.kind if parent is not None else None

    def children(self, parent_id: str) -> list[Content]:
        """Return the untrashed pages and folders directly under ``parent_id``, by position."""
        found = [c for c in self.content.values() if c.parent_id == parent_id and c.status in ("current", "archived")]
        found.sort(key=lambda c: c.position)
        return found

    def ancestors(self, item: Content) -> list[Content]:
        """Return ``item``'s ancestors from the space root down to its parent."""
        chain: list[Content] = []
        parent_id = item.parent_id
        while parent_id is not None and parent_id in self.content and len(chain) < 100:
            parent = self.content[parent_id]
            chain.append(parent)
            parent_id = parent.parent_id
        chain.reverse()
        return chain

    def space_key(self, space_id: str) -> str:
        """Return the key of space ``space_id`` (empty for an unknown space)."""
        space = self.spaces.get(space_id)
        return space.key if space is not None else ""
