"""The deterministic seed: spaces 'Product Ops' (OPS) and 'Engineering' (ENG), pages, people and groups.

``SEED`` names every id a test may want, so tests never hard-code numbers::

    OPS (131074)  Product Ops Home 393217
                  ├── Release checklist 393218 (version 3; labels release, checklist; comments; attachment)
                  │   └── Rollback plan 393219
                  │       └── Rollback drill log 393220
                  ├── Onboarding guide 393221
                  └── folder Team notes 393222
                      └── Vendor contacts 393223
                  blog post 'Q3 release recap' 458753
    ENG (131075)  Engineering Home 425985
                  ├── Architecture overview 425986 (label architecture)
                  └── On-call runbook 425987 (label runbook)
                  blog post 'Incident review: March outage' 458754
"""

from __future__ import annotations

from dataclasses import dataclass

from confluence_mcp.simulator.state import (
    Attachment,
    Comment,
    Content,
    ContentKind,
    Group,
    Label,
    Space,
    State,
    User,
    Version,
)


@dataclass(frozen=True, slots=True)
class SeedIds:
    """Ids, keys and names in the seeded site."""

    ops_space_id: str = "131074"
    ops_space_key: str = "OPS"
    ops_space_name: str = "Product Ops"
    eng_space_id: str = "131075"
    eng_space_key: str = "ENG"
    eng_space_name: str = "Engineering"
    ops_homepage_id: str = "393217"
    release_checklist_id: str = "393218"
    """The page with three versions, labels, comments and an attachment."""
    rollback_plan_id: str = "393219"
    rollback_drill_id: str = "393220"
    onboarding_guide_id: str = "393221"
    team_notes_folder_id: str = "393222"
    vendor_contacts_id: str = "393223"
    eng_homepage_id: str = "425985"
    architecture_id: str = "425986"
    runbook_id: str = "425987"
    ops_blogpost_id: str = "458753"
    eng_blogpost_id: str = "458754"
    footer_comment_id: str = "524289"
    reply_comment_id: str = "524290"
    inline_comment_id: str = "524291"
    blogpost_comment_id: str = "524292"
    attachment_id: str = "att557057"
    release_label_id: str = "1048577"
    checklist_label_id: str = "1048578"
    architecture_label_id: str = "1048579"
    runbook_label_id: str = "1048580"
    agent_account_id: str = "557058:0a1b2c3d-4e5f-4a6b-9c7d-0000000agent"
    agent_display_name: str = "Agent Smith"
    john_account_id: str = "557058:0a1b2c3d-4e5f-4a6b-9c7d-00000000john"
    jane_account_id: str = "557058:0a1b2c3d-4e5f-4a6b-9c7d-00000000jane"
    maria_account_id: str = "557058:0a1b2c3d-4e5f-4a6b-9c7d-0000000maria"
    contractors_group_id: str = "2c5e8a1f-6b3d-4e7a-9f1c-0d2b4a6c8e01"
    users_group_id: str = "2c5e8a1f-6b3d-4e7a-9f1c-0d2b4a6c8e02"
    admins_group_id: str = "2c5e8a1f-6b3d-4e7a-9f1c-0d2b4a6c8e03"


SEED = SeedIds()

_T0 = "2025-01-15T09:30:00.000Z"

_RELEASE_V1 = "<p>Steps</p>"
_RELEASE_V2 = "<h2>Steps</h2><ol><li><p>Freeze the branch</p></li><li><p>Tag the release</p></li></ol>"
_RELEASE_V3 = (
    "<h2>Steps</h2><ol><li><p>Freeze the branch</p></li><li><p>Tag the release</p></li>"
    '<li><p>Announce in #releases&nbsp;&mdash; link the <ac:link><ri:page ri:content-title="Rollback plan" />'
    "</ac:link></p></li></ol>"
    '<ac:structured-macro ac:name="info" ac:schema-version="1"><ac:rich-text-body>'
    "<p>Rollback steps live on their own page.</p></ac:rich-text-body></ac:structured-macro>"
)


def _user(state: State, account_id: str, email: str | None, name: str, zone: str) -> None:
    state.users[account_id] = User(account_id=account_id, email=email, display_name=name, time_zone=zone)


def current_user(state: State) -> None:
    """Create the authenticated user (Agent Smith, with the simulator's email); every site has one."""
    _user(state, SEED.agent_account_id, state.email, SEED.agent_display_name, "Europe/London")
    state.current_account_id = SEED.agent_account_id


_OPS, _ENG = SEED.ops_space_id, SEED.eng_space_id
_AGENT, _JOHN, _JANE, _MARIA = SEED.agent_account_id, SEED.john_account_id, SEED.jane_account_id, SEED.maria_account_id
_VENDORS = (
    "<table><tbody><tr><th>Vendor</th><th>Contact</th></tr>"
    "<tr><td>Acme</td><td>ops@acme.example</td></tr></tbody></table>"
)
_RUNBOOK = "<p>Page the on-call engineer; follow the release checklist for rollbacks.</p>"
_OUTAGE = "<p>The outage lasted 42 minutes; the runbook needs a database section.</p>"

# id, kind, space, title, parent, author, position, created, storage
_CONTENT: tuple[tuple[str, ContentKind, str, str, str | None, str, int, str, str], ...] = (
    (SEED.ops_homepage_id, "page", _OPS, "Product Ops Home", None, _AGENT, 0, _T0,
     "<p>Welcome to <strong>Product Ops</strong>.</p>"),
    (SEED.release_checklist_id, "page", _OPS, "Release checklist", SEED.ops_homepage_id, _AGENT, 100, _T0,
     _RELEASE_V3),
    (SEED.rollback_plan_id, "page", _OPS, "Rollback plan", SEED.release_checklist_id, _JOHN, 100, _T0,
     "<p>Revert the deployment, then restore the database snapshot.</p>"),
    (SEED.rollback_drill_id, "page", _OPS, "Rollback drill log", SEED.rollback_plan_id, _AGENT, 100, _T0,
     "<p>Drill on 2025-01-10 took 14&nbsp;minutes.</p>"),
    (SEED.onboarding_guide_id, "page", _OPS, "Onboarding guide", SEED.ops_homepage_id, _JANE, 200, _T0,
     "<p>Read the release checklist first.</p>"),
    (SEED.team_notes_folder_id, "folder", _OPS, "Team notes", SEED.ops_homepage_id, _AGENT, 300, _T0, ""),
    (SEED.vendor_contacts_id, "page", _OPS, "Vendor contacts", SEED.team_notes_folder_id, _AGENT, 100, _T0,
     _VENDORS),
    (SEED.eng_homepage_id, "page", _ENG, "Engineering Home", None, _JOHN, 0, _T0,
     "<p>Welcome to <em>Engineering</em>.</p>"),
    (SEED.architecture_id, "page", _ENG, "Architecture overview", SEED.eng_homepage_id, _JOHN, 100, _T0,
     "<p>The service is a Starlette app behind a load balancer.</p>"),
    (SEED.runbook_id, "page", _ENG, "On-call runbook", SEED.eng_homepage_id, _MARIA, 200, _T0, _RUNBOOK),
    (SEED.ops_blogpost_id, "blogpost", _OPS, "Q3 release recap", None, _AGENT, 0, "2025-01-20T16:00:00.000Z",
     "<p>We shipped three releases in Q3 without a rollback.</p>"),
    (SEED.eng_blogpost_id, "blogpost", _ENG, "Incident review: March outage", None, _JOHN, 0,
     "2025-03-18T11:15:00.000Z", _OUTAGE),
)  # fmt: skip


def _spaces_and_content(state: State) -> None:
    state.add_space(
        Space(_OPS, "OPS", SEED.ops_space_name, "global", "current", SEED.ops_homepage_id, _AGENT, _T0,
              "Runbooks, checklists and release notes of the product operations team.")
    )  # fmt: skip
    state.add_space(
        Space(_ENG, "ENG", SEED.eng_space_name, "global", "current", SEED.eng_homepage_id, _JOHN, _T0,
              "Architecture notes and on-call runbooks.")
    )  # fmt: skip
    for content_id, kind, space_id, title, parent_id, author, position, created_at, storage in _CONTENT:
        versions = [Version(1, "", created_at, author, title=title, storage=storage)]
        if content_id == SEED.release_checklist_id:
            versions = [
                Version(1, "", "2025-01-15T09:30:00.000Z", author, title=title, storage=_RELEASE_V1),
                Version(2, "add steps", "2025-01-16T10:00:00.000Z", _JOHN, title=title, storage=_RELEASE_V2),
                Version(3, "announce step", "2025-01-17T14:45:00.000Z", author, title=title, storage=storage),
            ]
        state.add_content(
            Content(
                id=content_id,
                kind=kind,
                space_id=space_id,
                title=title,
                status="current",
                parent_id=parent_id,
                author_id=author,
                owner_id=author,
                created_at=created_at,
                storage=storage,
                adf=None,
                versions=versions,
                position=position,
            )
        )


def _comment(
    state: State,
    comment_id: str,
    container_id: str,
    storage: str,
    *,
    kind: str = "footer",
    parent: str | None = None,
    author: str = SEED.agent_account_id,
) -> Comment:
    container = state.content[container_id]
    comment = Comment(
        id=comment_id,
        kind="inline" if kind == "inline" else "footer",
        container_id=container_id,
        container_kind=container.kind,
        parent_comment_id=parent,
        title=f"Re: {container.title}",
        status="current",
        storage=storage,
        adf=None,
        versions=[Version(1, "", _T0, author, title=f"Re: {container.title}", storage=storage)],
        created_at=_T0,
        author_id=author,
    )
    state.comments[comment_id] = comment
    return comment


def _comments_labels_attachments(state: State) -> None:
    _comment(state, SEED.footer_comment_id, SEED.release_checklist_id, "<p>Should we add a smoke test step?</p>",
             author=SEED.john_account_id)  # fmt: skip
    _comment(state, SEED.reply_comment_id, SEED.release_checklist_id, "<p>Yes, after tagging.</p>",
             parent=SEED.footer_comment_id)  # fmt: skip
    inline = _comment(state, SEED.inline_comment_id, SEED.release_checklist_id, "<p>Which branch?</p>",
                      kind="inline", author=SEED.jane_account_id)  # fmt: skip
    inline.resolution_status = "open"
    inline.original_selection = "Freeze the branch"
    inline.marker_ref = "0f3c9a52-7d1e-4b8a-9c6f-2e5d8b7a1c40"
    _comment(state, SEED.blogpost_comment_id, SEED.ops_blogpost_id, "<p>Great quarter!</p>",
             author=SEED.maria_account_id)  # fmt: skip
    for label_id, name, content_id in (
        (SEED.release_label_id, "release", SEED.release_checklist_id),
        (SEED.checklist_label_id, "checklist", SEED.release_checklist_id),
        (SEED.architecture_label_id, "architecture", SEED.architecture_id),
        (SEED.runbook_label_id, "runbook", SEED.runbook_id),
    ):
        state.labels[label_id] = Label(label_id, "global", name)
        state.label_ids_by_key[("global", name)] = label_id
        state.content[content_id].label_ids.append(label_id)
    state.attachments[SEED.attachment_id] = Attachment(
        id=SEED.attachment_id,
        container_id=SEED.release_checklist_id,
        container_kind="page",
        title="release-flow.png",
        media_type="image/png",
        file_size=48213,
        comment="Release flow diagram",
        file_id="7b6f2c1e-3a4d-4e5f-8a9b-0c1d2e3f4a5b",
        status="current",
        created_at=_T0,
        author_id=SEED.agent_account_id,
    )


def _people(state: State) -> None:
    _user(state, SEED.john_account_id, "john.smith@example.com", "John Smith", "America/New_York")
    _user(state, SEED.jane_account_id, "jane.doe@example.com", "Jane Doe", "Europe/Berlin")
    # Maria hides her email, as Atlassian's privacy settings allow; clients must tolerate the null.
    _user(state, SEED.maria_account_id, None, "Maria Garcia", "America/Sao_Paulo")
    everyone = [SEED.agent_account_id, SEED.john_account_id, SEED.jane_account_id, SEED.maria_account_id]
    state.groups[SEED.contractors_group_id] = Group(SEED.contractors_group_id, "Contractors", [SEED.john_account_id])
    state.groups[SEED.users_group_id] = Group(SEED.users_group_id, "confluence-users", everyone)
    state.groups[SEED.admins_group_id] = Group(
        SEED.admins_group_id, "site-admins", [SEED.agent_account_id, SEED.maria_account_id]
    )


def populate(state: State, *, seed: bool) -> None:
    """Fill an empty ``state``: always the current user; with ``seed`` the whole seeded site."""
    current_user(state)
    if not seed:
        return
    _people(state)
    _spaces_and_content(state)
    _comments_labels_attachments(state)


__all__ = ["SEED", "SeedIds", "current_user", "populate"]
