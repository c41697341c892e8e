// The pages' one script: the copy button, "Test connection" and the live tool preview. No framework, no build.
"use strict";

function formParams(form, skip) {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (!skip.includes(name)) params.append(name, String(value));
  }
  return params;
}

function setupCopy() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.copy);
      const status = document.getElementById("copy-status");
      let copied = false;
      try {
        await navigator.clipboard.writeText(input.value);
        copied = true;
      } catch (_) {
        input.select();
        copied = document.execCommand("copy");
      }
      if (status) status.textContent = copied ? "Copied to the clipboard." : "Select the URL and copy it by hand.";
    });
  }
}

function setupTestConnection() {
  const button = document.getElementById("test-connection");
  if (!button) return;
  const form = button.form;
  const out = document.getElementById("check-result");
  button.addEventListener("click", async () => {
    out.className = "check-result";
    out.textContent = "Testing…";
    const csrf = form.querySelector("input[name=csrf]").value;
    let body;
    try {
      const response = await fetch(button.dataset.url, {
        method: "POST",
        body: formParams(form, []),
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
        credentials: "same-origin",
      });
      body = await response.json();
    } catch (error) {
      out.className = "check-result fail";
      out.textContent = "The test could not run: " + error;
      return;
    }
    if (body.errors || body.general) {
      const problems = Object.entries(body.errors || {}).map(([field, message]) => field + ": " + message);
      out.className = "check-result fail";
      out.textContent = problems.concat(body.general || []).join(" · ") || body.message || "Refused.";
      return;
    }
    out.className = "check-result " + (body.ok ? "ok" : "fail");
    out.textContent = (body.ok ? "✓ " : "✗ ") + body.message;
  });
}

function setupPreview() {
  const form = document.getElementById("server-form");
  if (!form) return;
  const summary = document.getElementById("preview-summary");
  const list = document.getElementById("preview-names");
  let timer = 0;
  let asked = 0;
  async function refresh() {
    const ask = ++asked;
    const params = formParams(form, ["csrf", "name", "expires_in", "expires_on", "config.max_limit"]);
    const response = await fetch(form.dataset.previewUrl + "?" + params, { headers: { "Accept": "application/json" } });
    const body = await response.json();
    if (ask !== asked) return; // a newer answer is on its way
    list.replaceChildren();
    if (!response.ok) {
      const problems = Object.values(body.errors || {}).concat(body.general || []);
      summary.textContent = problems.join(" · ") || body.message || "No tool passes these filters.";
      return;
    }
    summary.replaceChildren();
    const count = document.createElement("strong");
    count.id = "preview-count";
    count.textContent = String(body.count);
    const bytes = document.createElement("strong");
    bytes.id = "preview-bytes";
    bytes.textContent = String(body.bytes);
    const discovery = body.listed.length !== body.count ? " (discovery: it lists " + body.listed.join(", ") + ")" : "";
    summary.append(count, " tools; tools/list is ", bytes, " bytes" + discovery + ".");
    for (const name of body.names) {
      const item = document.createElement("li");
      item.textContent = name;
      list.append(item);
    }
  }
  form.addEventListener("change", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  });
}

function setupCredentialType() {
  const select = document.getElementById("f-auth-type");
  const email = document.getElementById("email-field");
  if (!select || !email) return;
  const show = () => { email.hidden = select.value === "bearer"; };
  select.addEventListener("change", show);
  show();
}

document.addEventListener("DOMContentLoaded", () => {
  setupCredentialType();
  setupCopy();
  setupTestConnection();
  setupPreview();
});
