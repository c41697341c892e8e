"""The pages in a real browser (headless Chromium): the whole operator journey, each page screenshotted and checked."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from playwright.async_api import Page, expect

from confluence_mcp.simulator import SEED
from tests.support.admin import MCP_HEADERS
from tests.ui.conftest import (
    SIM_EMAIL,
    SIM_TOKEN,
    Site,
    browser,
    check_page,
    eventually,
    fits_phone_width,
    new_context,
)

pytestmark = pytest.mark.anyio


async def _all_tool_names(url: str) -> list[str]:
    async with (
        httpx2.AsyncClient() as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        names: list[str] = []
        cursor: str | None = None
        while True:
            page = await client.list_tools(cursor=cursor) if cursor else await client.list_tools()
            names.extend(tool.name for tool in page.tools)
            cursor = page.next_cursor
            if not cursor:
                return names


async def _call_page(url: str) -> bool:
    async with (
        httpx2.AsyncClient() as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        result = await client.call_tool("get_single_confluence_page_by_id", {"id": SEED.release_checklist_id})
        return result.is_error is False and (result.structured_content or {}).get("id") == SEED.release_checklist_id


async def _click_in_row(page: Page, row: str, link: str) -> None:
    """Click the link starting with ``link`` in the table row that names ``row``."""
    await page.get_by_role("row", name=re.compile(row)).get_by_role("link", name=re.compile(f"^{link}")).click()


async def _sign_in(page: Page, token: str) -> None:
    await page.goto("/ui/")
    await expect(page).to_have_url(re.compile(r"/ui/sign-in$"))
    await page.get_by_label("Admin API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()


async def test_an_operator_connects_a_site_creates_a_read_only_server_copies_its_url_and_revokes_it(
    site: Site,
) -> None:
    """Sign in, add the simulator, test it, create a pages read-only server, use its URL with the SDK, revoke it."""
    async with browser() as launched:
        context = await new_context(launched, site.base_url)
        page = await context.new_page()

        # Sign in: a wrong token is refused on the page, the right one opens the accounts.
        await page.goto("/ui/")
        await check_page(page, "sign-in")
        await _sign_in(page, "cmat_wrong-token")
        await expect(page.get_by_role("alert")).to_contain_text("not a valid admin API token")
        await _sign_in(page, site.admin_token)
        await expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
        await check_page(page, "accounts-empty")

        # Add the simulated site; Test connection reports a wrong token, then who the right one belongs to.
        await page.get_by_role("link", name="Add account").click()
        await page.get_by_label("Label").fill("Simulated site")
        await page.get_by_label("Site URL").fill(site.sim_url)
        await page.get_by_label("Atlassian account email").fill(SIM_EMAIL)
        await page.get_by_label("API token", exact=True).fill("wrong")
        soon = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
        await page.get_by_label("API token expires on").fill(soon)
        await page.get_by_role("button", name="Test connection").click()
        result = page.locator("#check-result")
        await expect(result).to_contain_text("401")
        await page.get_by_label("API token", exact=True).fill(SIM_TOKEN)
        await page.get_by_role("button", name="Test connection").click()
        await expect(result).to_contain_text(f"as {SEED.agent_display_name}")
        await check_page(page, "account-add")
        await fits_phone_width(page, "account-add")
        await page.get_by_role("button", name="Add account").click()
        await expect(page.get_by_role("status")).to_contain_text("Confluence accepted its credentials")
        await check_page(page, "servers-empty")

        # The list flags the Atlassian token that expires within 14 days.
        await page.get_by_role("link", name="Accounts", exact=True).first.click()
        row = page.get_by_role("row", name=re.compile("Simulated site"))
        await expect(row).to_contain_text("expires in 9 d")
        await check_page(page, "accounts")
        await fits_phone_width(page, "accounts")

        # Create a read-only server for the pages tag; the live preview shows what it lets through.
        await row.get_by_role("link", name=re.compile("^MCP servers")).click()
        await page.get_by_role("link", name="Create MCP server").click()
        everything = int(await page.locator("#preview-count").inner_text())
        await page.get_by_label("read (list, get)").check()
        await page.get_by_label("pages", exact=True).check()
        preview = page.locator("#preview-names")
        await expect(preview).not_to_contain_text("create_a_confluence_page")
        await expect(preview).to_contain_text("get_single_confluence_page_by_id")
        previewed = await preview.locator("li").all_inner_texts()
        assert 0 < len(previewed) < everything
        assert int(await page.locator("#preview-count").inner_text()) == len(previewed)
        await page.get_by_label("Name", exact=True).fill("docs-bot")
        await page.get_by_label("The URL stops working").select_option("7d")
        await check_page(page, "server-create")
        await fits_phone_width(page, "server-create")
        await page.get_by_role("button", name="Create MCP server").click()

        # The URL is shown once; the copy button puts it on the clipboard.
        await expect(page.get_by_role("heading", name=re.compile("created"))).to_be_visible()
        shown = await page.get_by_label("MCP server URL").input_value()
        await page.get_by_role("button", name="Copy URL").click()
        await expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
        copied = await page.evaluate("navigator.clipboard.readText()")
        assert copied == shown
        assert re.fullmatch(r"http://[^/]+/mcp/cmcp_[\w-]+", copied)
        await expect(page.locator("pre").first).to_contain_text(f"npx -y mcp-remote {copied}")
        await check_page(page, "server-created")
        await fits_phone_width(page, "server-created")

        # The URL works with the mcp SDK client: it lists exactly the previewed tools and reads a page.
        url = f"{site.base_url}{urlsplit(copied).path}"  # the page names the configured public_url
        names = await _all_tool_names(url)
        assert names == previewed
        assert "create_a_confluence_page" not in names
        assert await _call_page(url)

        # The table shows it, last used now; its activity lists the call.
        await page.get_by_role("link", name="Back to the MCP servers").click()
        server_row = page.get_by_role("row", name=re.compile("docs-bot"))
        await expect(server_row).to_contain_text("read")
        await expect(server_row).to_contain_text("pages")
        await server_row.get_by_role("link", name=re.compile("^Activity")).click()
        activity_url = page.url

        async def listed() -> bool:
            await page.goto(activity_url)
            return await page.locator("#activity").get_by_text("get_single_confluence_page_by_id").count() > 0

        await eventually(listed)
        await check_page(page, "activity")
        await page.get_by_label("Status").fill("error")
        await page.get_by_role("button", name="Filter").click()
        await expect(page.get_by_text("No call matches these filters")).to_be_visible()
        await page.get_by_role("link", name="Simulated site").click()
        await expect(page.get_by_role("row", name=re.compile("docs-bot"))).not_to_contain_text("not yet")
        await check_page(page, "servers")
        await fits_phone_width(page, "servers")

        # Edit its filters: the page refuses a filter no tool passes, beside the filters.
        await _click_in_row(page, "docs-bot", "Edit")
        await page.get_by_label("write (create, update, delete)").check()
        await page.get_by_label("read (list, get)").uncheck()
        await page.get_by_label("groups", exact=True).check()
        await page.get_by_label("pages", exact=True).uncheck()
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("#f-config-error")).to_contain_text("no tool passes")
        await check_page(page, "server-edit")
        await page.get_by_label("Name", exact=True).fill("docs-bot-2")
        await page.get_by_label("groups", exact=True).uncheck()
        await page.get_by_label("pages", exact=True).check()
        await page.get_by_label("write (create, update, delete)").uncheck()
        await page.get_by_label("read (list, get)").check()
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_contain_text("MCP server saved")

        # A form posted without its CSRF token is refused, with the browser's own session cookie.
        forged = await page.request.post(
            "/ui/accounts", form={"label": "x", "instance_url": site.sim_url}, max_redirects=0
        )
        assert forged.status == 403

        # Revoke it (after a confirmation): its URL answers 404 at once.
        await _click_in_row(page, "docs-bot-2", "Revoke")
        await check_page(page, "server-revoke")
        await page.get_by_role("button", name="Revoke MCP server").click()
        await expect(page.get_by_role("status")).to_contain_text("its URL now answers 404")
        async with httpx.AsyncClient() as http:
            dead = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=MCP_HEADERS)
        assert dead.status_code == 404

        # The account's edit and remove pages; removing it empties the list. Then sign out.
        await page.get_by_role("link", name="Edit account").click()
        await expect(page.get_by_label("Site URL")).to_have_value(site.sim_url)
        await page.get_by_role("button", name="Test connection").click()  # no token typed: the stored one
        await expect(page.locator("#check-result")).to_contain_text(f"as {SEED.agent_display_name}")
        await page.get_by_label("Credential type").select_option("bearer")
        await expect(page.get_by_label("Atlassian account email")).to_be_hidden()
        await page.get_by_label("Credential type").select_option("basic")
        await check_page(page, "account-edit")
        await page.get_by_role("link", name="Accounts", exact=True).first.click()
        await _click_in_row(page, "Simulated site", "Remove")
        await check_page(page, "account-remove")
        await page.get_by_role("button", name="Remove account").click()
        await expect(page.get_by_role("status")).to_contain_text("Account removed")
        assert await site.runtime.store.list_accounts() == []
        await page.get_by_role("button", name="Sign out").click()
        await expect(page).to_have_url(re.compile(r"/ui/sign-in$"))
        await page.goto("/ui/accounts")
        await expect(page).to_have_url(re.compile(r"/ui/sign-in$"))
        await context.close()
