import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { test, expect, openHydrated, signedIn, seedProject, api, freePort } from "./fixtures";

// Two replicas of one installation on one PostgreSQL database: the server under test (A) and a
// second `millrace serve` (B) this test starts. A runner works through A while the page is on B.

const bin = process.env.MILLRACE_BIN ?? join(homedir(), ".cache/millrace-target/debug/millrace");
const database = process.env.MILLRACE_E2E_DATABASE ?? "";
const replicaA = `http://127.0.0.1:${process.env.MILLRACE_E2E_PORT ?? 3311}`;

async function healthy(url: string) {
  await expect.poll(async () => (await fetch(`${url}/healthz`).catch(() => null))?.status, { timeout: 30_000 }).toBe(200);
}

test("a job run through one replica shows its status, metrics and logs live on a page of another", async ({ page }) => {
  test.skip(!database.startsWith("postgres"), "replicas share a PostgreSQL database; this run is on SQLite");
  const processes: ChildProcess[] = [];
  try {
    const port = await freePort();
    const replicaB = `http://127.0.0.1:${port}`;
    // Started as A is: the same database, and from the repository (its Leptos.toml names the
    // site), so its files are in the directory A uses by default with PostgreSQL.
    const b = spawn(bin, ["serve", "--database", database, "--addr", `127.0.0.1:${port}`], {
      cwd: join(__dirname, "..", ".."),
      env: { ...process.env, MILLRACE_LOG: "error" },
      stdio: "ignore",
    });
    processes.push(b);
    await healthy(replicaB);

    await signedIn(page);
    const project = await seedProject(page, "replicas", []);
    // Ten steps, a third of a second apart: long enough to be watched while it runs.
    const shell = 'for i in 0 1 2 3 4 5 6 7 8 9; do echo "step=$i loss=0.$((9 - i))"; sleep 0.3; done';
    const applied = await api(page).post(`/api/v1/projects/alice/${project}/apply`, {
      data: { name: "across", plan: { command: { shell }, metrics: { names: ["loss"] } } },
    });
    expect(applied.status(), await applied.text()).toBe(201);

    // The page on B; the session cookie is the site's (same host), sessions live in the database.
    await openHydrated(page, `${replicaB}/u/alice/p/${project}/j/1`);
    const fact = (name: string) => page.locator("dl.facts dt").filter({ hasText: new RegExp(`^${name}$`) }).locator("+ dd");
    await expect(fact("Status")).toHaveText("queued");
    let reloads = 0;
    page.on("load", () => reloads++);

    const made = ["runner-token", "create", "--name", `replicas-${port}`, "--database", database];
    const token = execFileSync(bin, made, { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
    const workdir = mkdtempSync(join(tmpdir(), "millrace-e2e-runner-"));
    const runner = spawn(bin, ["runner", "--server", replicaA, "--name", `through-a-${port}`, "--workdir", workdir], {
      env: { ...process.env, MILLRACE_RUNNER_TOKEN: token },
      stdio: "ignore",
    });
    processes.push(runner);

    await expect(fact("Status")).toHaveText("running", { timeout: 15_000 });
    await expect(fact("Runner")).toHaveText(`through-a-${port}`);
    const loss = page.locator("table.metrics").getByRole("row").filter({ hasText: "loss" });
    await expect(loss).toBeVisible({ timeout: 10_000 });
    await expect(fact("Status")).toHaveText("succeeded", { timeout: 20_000 });
    await expect(loss.getByRole("cell").last()).toHaveText("10");

    await page.getByRole("tab", { name: "Logs" }).click();
    const output = page.getByRole("log", { name: "Job output" });
    await expect(output).toContainText("step=9 loss=0.0");
    expect(reloads, "everything arrived over B's event stream, without a reload").toBe(0);
  } finally {
    for (const child of processes) child.kill("SIGKILL");
  }
});
