"""The JSON Confluence returns for each record: v2 objects, and the v1 user, group, space and content shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from confluence_mcp.simulator.bodies import render_body
from confluence_mcp.simulator.exchange import JsonObject
from confluence_mcp.simulator.state import Attachment, Comment, Content, Group, Label, Space, State, User, Version


def version_json(version: Version) -> JsonObject:
    """Return the ``version`` object embedded in v2 content."""
    return {
        "number": version.number,
        "message": version.message,
        "minorEdit": version.minor_edit,
        "authorId": version.author_id,
        "createdAt": version.created_at,
    }


def epoch_millis(iso: str) -> int:
    """Return ``iso`` as epoch milliseconds (folders report ``createdAt`` so [obs])."""
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def content_json(
    state: State,
    item: Content,
    base: str,
    *,
    body_format: str | None = None,
    include_version: bool = True,
    version: Version | None = None,
) -> JsonObject:
    """Return the v2 page, blog post or folder object; ``version`` selects a historical version."""
    shown = version or item.version
    title = shown.title if version is not None else item.title
    data: JsonObject = {"id": item.id, "status": item.status, "title": title}
    if item.kind == "folder":
        data["type"] = "folder"
    data["spaceId"] = item.space_id
    if item.kind != "blogpost":
        data["parentId"] = item.parent_id
        data["parentType"] = state.parent_kind(item)
        data["position"] = item.position
    data["authorId"] = item.author_id
    if item.kind != "blogpost":
        data["ownerId"] = item.owner_id
        data["lastOwnerId"] = None
    # Folders report createdAt as epoch milliseconds on live sites [obs]; imitate it so clients cope.
    data["createdAt"] = epoch_millis(item.created_at) if item.kind == "folder" else item.created_at
    if include_version:
        data["version"] = version_json(shown)
    if body_format is not None and item.kind != "folder":
        storage = shown.storage if version is not None else item.storage
        adf = shown.adf if version is not None else item.adf
        data["body"] = render_body(storage, adf, body_format)
    data["_links"] = {**item.links, "base": base}
    return data


def space_json(space: Space, *, description_format: str | None = None) -> JsonObject:
    """Return the v2 space object."""
    data: JsonObject = {
        "id": space.id,
        "key": space.key,
        "name": space.name,
        "type": space.type,
        "status": space.status,
        "authorId": space.author_id,
        "createdAt": space.created_at,
        "homepageId": space.homepage_id,
        "icon": None,
    }
    if description_format is not None:
        data["description"] = {description_format: {"representation": description_format, "value": space.description}}
    data["_links"] = {"webui": f"/spaces/{space.key}"}
    return data


def comment_json(state: State, comment: Comment, base: str, *, body_format: str | None = None) -> JsonObject:
    """Return the v2 footer or inline comment object."""
    data: JsonObject = {"id": comment.id, "status": comment.status, "title": comment.title}
    data["blogPostId" if comment.container_kind == "blogpost" else "pageId"] = comment.container_id
    if comment.parent_comment_id is not None:
        data["parentCommentId"] = comment.parent_comment_id
    data["version"] = version_json(comment.version)
    if comment.kind == "inline":
        data["resolutionStatus"] = comment.resolution_status
        data["properties"] = {
            "inlineMarkerRef": comment.marker_ref,
            "inlineOriginalSelection": comment.original_selection,
        }
    if body_format is not None:
        data["body"] = render_body(comment.storage, comment.adf, body_format)
    container = state.content.get(comment.container_id)
    webui = container.links.get("webui", "") if container is not None else ""
    data["_links"] = {"webui": f"{webui}?focusedCommentId={comment.id}#comment-{comment.id}", "base": base}
    return data


def label_json(label: Label) -> JsonObject:
    """Return the v2 label object."""
    return {"id": label.id, "name": label.name, "prefix": label.prefix}


def v1_label_json(label: Label) -> JsonObject:
    """Return the v1 label object (``label`` repeats the name)."""
    return {"prefix": label.prefix, "name": label.name, "id": label.id, "label": label.name}


def attachment_json(attachment: Attachment, base: str) -> JsonObject:
    """Return the v2 attachment object."""
    container_key = "blogPostId" if attachment.container_kind == "blogpost" else "pageId"
    download = (
        f"/download/attachments/{attachment.container_id}/{attachment.title}?version={attachment.version_number}&api=v2"
    )
    return {
        "id": attachment.id,
        "status": attachment.status,
        "title": attachment.title,
        "createdAt": attachment.created_at,
        container_key: attachment.container_id,
        "mediaType": attachment.media_type,
        "mediaTypeDescription": attachment.media_type.split("/")[-1].upper() + " File",
        "comment": attachment.comment,
        "fileId": attachment.file_id,
        "fileSize": attachment.file_size,
        "webuiLink": f"/pages/viewpageattachments.action?pageId={attachment.container_id}&preview={attachment.title}",
        "downloadLink": download,
        "version": {
            "number": attachment.version_number,
            "message": "",
            "minorEdit": False,
            "authorId": attachment.author_id,
            "createdAt": attachment.created_at,
        },
        "_links": {"download": download, "base": base},
    }


def _picture(user: User) -> JsonObject:
    return {"path": f"/wiki/aa-avatar/{user.account_id}", "width": 48, "height": 48, "isDefault": False}


def v1_user_json(user: User, base: str) -> JsonObject:
    """Return the v1 user object."""
    return {
        "type": "known",
        "accountId": user.account_id,
        "accountType": user.account_type,
        "email": user.email,
        "publicName": user.display_name,
        "profilePicture": _picture(user),
        "displayName": user.display_name,
        "timeZone": user.time_zone,
        "isExternalCollaborator": False,
        "_expandable": {"operations": "", "personalSpace": ""},
        "_links": {"self": f"{base}/rest/api/user?accountId={user.account_id}"},
    }


def v2_user_json(user: User) -> JsonObject:
    """Return the v2 user object of ``users-bulk``."""
    return {
        "accountId": user.account_id,
        "accountStatus": "active",
        "accountType": user.account_type,
        "email": user.email,
        "displayName": user.display_name,
        "publicName": user.display_name,
        "profilePicture": _picture(user),
        "timeZone": user.time_zone,
        "isExternalCollaborator": False,
    }


def group_json(group: Group, base: str) -> JsonObject:
    """Return the v1 group object."""
    return {
        "type": "group",
        "name": group.name,
        "id": group.id,
        "_links": {"self": f"{base}/rest/api/group/by-id?id={group.id}"},
    }


def v1_content_json(state: State, item: Content, base: str) -> JsonObject:
    """Return the v1 content object that search results embed."""
    space_key = state.space_key(item.space_id)
    return {
        "id": item.id,
        "type": item.kind,
        "status": item.status,
        "title": item.title,
        "childTypes": {},
        "macroRenderedOutput": {},
        "restrictions": {},
        "_expandable": {
            "container": f"/rest/api/space/{space_key}",
            "space": f"/rest/api/space/{space_key}",
            "history": f"/rest/api/content/{item.id}/history",
            "version": "",
            "body": "",
            "ancestors": "",
            "children": f"/rest/api/content/{item.id}/child",
        },
        "_links": {
            "webui": item.links.get("webui", ""),
            "self": f"{base}/rest/api/content/{item.id}",
            "tinyui": item.links.get("tinyui", ""),
        },
    }


def v1_space_json(space: Space, base: str) -> JsonObject:
    """Return the v1 space object (its ``id`` is a number there)."""
    data: dict[str, Any] = {
        "id": int(space.id),
        "key": space.key,
        "name": space.name,
        "type": space.type,
        "status": space.status,
        "_expandable": {"homepage": f"/rest/api/content/{space.homepage_id}", "description": ""},
        "_links": {"webui": f"/spaces/{space.key}", "self": f"{base}/rest/api/space/{space.key}"},
    }
    return data
