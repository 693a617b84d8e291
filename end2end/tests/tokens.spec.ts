import { test, expect, signedIn } from "./fixtures";

// The settings page: with and without JavaScript, tokens are made, shown once, used and revoked,
// and other browsers' sessions are signed out.

test("a token made on the settings page works until it is revoked", async ({ page }) => {
  await signedIn(page);
  await page.getByRole("link", { name: "Tokens" }).click();
  await expect(page).toHaveURL(/\/settings\/tokens$/);
  const name = `laptop-${Date.now().toString(36)}`;
  const form = page.getByRole("form", { name: "New token" });
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Scope").selectOption({ label: "read only" });
  await form.getByRole("button", { name: "Create token" }).click();

  const shown = page.getByRole("status").getByRole("textbox", { name: "New token" });
  await expect(shown).toHaveValue(/^mr_[0-9a-f]{64}$/);
  const secret = await shown.inputValue();
  const me = () => page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${secret}` } });
  const answer = await me();
  expect(answer.status()).toBe(200);
  expect(await answer.json()).toMatchObject({ name: "alice" });

  const row = page.getByRole("table", { name: "Tokens" }).getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("read only");
  await row.getByRole("button", { name: `Revoke ${name}` }).click();
  await expect(row).toContainText("revoked");
  expect((await me()).status()).toBe(401);
  // Shown once: a reload does not show the secret again.
  await page.reload();
  await expect(page.getByRole("textbox", { name: "New token" })).toHaveCount(0);
});

test("another browser's session is listed and signed out from here", async ({ page, browser }) => {
  // Dana, whom no other test signs in as: alice collects a session per test, and signing them
  // all out one by one grew with the suite until it ran into the time limit.
  const other = await browser.newContext();
  const elsewhere = await other.newPage();
  await signedIn(elsewhere, "dana");
  await signedIn(page, "dana");
  await page.goto("/settings/tokens");
  const sessions = page.getByRole("table", { name: "Sessions" });
  await expect(sessions.getByText("this browser")).toHaveCount(1);
  const before = await sessions.getByRole("button", { name: "Sign out" }).count();
  expect(before).toBeGreaterThan(0);

  // The newest other session is the other browser's; sign every other one out.
  for (let left = before; left > 0; left -= 1) {
    await sessions.getByRole("button", { name: "Sign out" }).first().click();
    await expect(sessions.getByRole("button", { name: "Sign out" })).toHaveCount(left - 1);
  }
  await elsewhere.goto("/");
  await expect(elsewhere).toHaveURL(/\/login\?next=/);
  await expect(sessions.getByText("this browser")).toHaveCount(1);
  await other.close();
});
