import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test, expect, signIn, freePort } from "./fixtures";

// A pool's machines come and go while /runners is open. Pools run commands on the server, so
// this test starts a `millrace serve` of its own with a pool scripts folder (the local provider
// of docs/pools, which starts real `millrace runner` processes) on a store of its own: the
// shared server's queued jobs would otherwise make the pool grow. When the suite runs on
// PostgreSQL, that store is a schema of its own there.

const bin = process.env.MILLRACE_BIN ?? join(homedir(), ".cache/millrace-target/debug/millrace");
const repo = join(__dirname, "..", "..");
const password = "pools-e2e-password";

/** A fresh store of this test's own, on the engine the suite runs on, and how to drop it. */
function ownStore(dir: string): { database: string; drop: () => void } {
  const shared = process.env.MILLRACE_E2E_DATABASE ?? "";
  if (!shared.startsWith("postgres")) {
    return { database: `sqlite://${join(dir, "pools.db")}`, drop: () => {} };
  }
  const server = shared.split("?")[0];
  const schema = `millrace_pools_e2e_${process.pid}`;
  execFileSync("psql", [server, "-qc", `CREATE SCHEMA ${schema}`], { stdio: "pipe" });
  return {
    database: `${server}?options=-c%20search_path%3D${schema}`,
    drop: () => execFileSync("psql", [server, "-qc", `DROP SCHEMA IF EXISTS ${schema} CASCADE`], { stdio: "pipe" }),
  };
}

test("the runners page follows a pool's machine from request to gone, and the project pays its idle time", async ({ page }) => {
  test.setTimeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), "millrace-pools-e2e-"));
  const scripts = join(dir, "scripts");
  mkdirSync(scripts);
  for (const script of ["local-create.sh", "local-delete.sh"]) {
    copyFileSync(join(repo, "docs/pools", script), join(scripts, script));
  }
  // One fake GPU per machine, as nvidia-smi would list it.
  const gpus = join(dir, "gpus");
  mkdirSync(gpus);
  writeFileSync(join(gpus, "nvidia-smi"), "#!/bin/sh\necho '0, NVIDIA L4, 23034, GPU-e2e'\n", { mode: 0o755 });
  const store = ownStore(dir);
  const database = store.database;
  const server: ChildProcess[] = [];
  try {
    execFileSync(bin, ["user", "create", "ann", "--password-stdin", "--database", database], { input: `${password}\n` });
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    server.push(
      spawn(bin, ["serve", "--database", database, "--addr", `127.0.0.1:${port}`, "--pool-scripts", scripts, "--files", join(dir, "files")], {
        cwd: repo,
        env: { ...process.env, PATH: `${gpus}:${dirname(bin)}:${process.env.PATH}`, MILLRACE_LOG: "error" },
        stdio: "ignore",
      }),
    );
    await expect.poll(async () => (await fetch(`${origin}/healthz`).catch(() => null))?.status, { timeout: 30_000 }).toBe(200);
    const write = { headers: { Origin: origin } };

    await page.goto(`${origin}/login`);
    await signIn(page, "ann", password);
    await page.waitForURL(`${origin}/`);
    await page.goto(`${origin}/runners`);
    await expect(page.getByText("No pools.")).toBeVisible();

    // An administrator applies a pool while the page is open: it appears without a reload.
    const applied = await page.request.put(`${origin}/api/v1/pools/e2e`, {
      ...write,
      data: {
        labels: ["e2e"], gpus_per_machine: 1, price_per_hour: 360, min: 0, max: 1,
        idle_timeout_s: 2, boot_timeout_s: 60, command_timeout_s: 30,
        create: ["local-create.sh", "{{name}}"], delete: ["local-delete.sh", "{{name}}"],
      },
    });
    expect(applied.status(), await applied.text()).toBe(200);
    const pool = page.getByRole("region", { name: "Pool e2e" });
    await expect(pool).toContainText("0 of at most 1 machines", { timeout: 12_000 });
    await expect(pool).toContainText("No machines.");

    // A job that fits the pool makes it ask for a machine, which registers and runs it.
    expect((await page.request.post(`${origin}/api/v1/projects`, { ...write, data: { name: "lab" } })).status()).toBe(201);
    const queued = await page.request.post(`${origin}/api/v1/projects/ann/lab/apply`, {
      ...write,
      data: { name: "pooled", gpus: 1, labels: ["e2e"], plan: { command: { shell: "sleep 6; echo done" } } },
    });
    expect(queued.status(), await queued.text()).toBe(201);
    const machines = page.getByRole("table", { name: "Machines of e2e" });
    await expect(machines.getByRole("cell", { name: "busy", exact: true })).toBeVisible({ timeout: 20_000 });
    const name = (await machines.locator("tbody td").first().textContent())!;
    expect(name).toMatch(/^e2e-[0-9a-z]{6}$/);
    // Its runner is on the page too, with the pool's labels.
    await expect(page.locator("table.runners").getByRole("row", { name: new RegExp(name) })).toContainText("NVIDIA L4");

    // Idle for two seconds after its job, it is deleted; the page says so and what it cost.
    await expect(pool).toContainText("No machines.", { timeout: 30_000 });
    await expect(page.locator("table.runners").getByRole("row", { name: new RegExp(name) })).toHaveCount(0);
    await pool.getByText("History").click();
    const history = pool.locator(".pool-history li");
    for (const state of ["requested", "ready", "busy", "idle", "draining", "gone"]) {
      await expect(history.filter({ hasText: new RegExp(`${name} ${state}\\b`) })).not.toHaveCount(0);
    }
    const spend = (await pool.locator(".pool-spend").textContent())!.match(/^Spent \$([0-9.]+) today/);
    expect(Number(spend?.[1])).toBeGreaterThan(0);

    // The project that made it grow pays for the machine's whole life, its idle time said apart.
    await page.goto(`${origin}/u/ann`);
    const row = page.getByRole("link", { name: /lab/ });
    await expect(row).toContainText(/1 job · \$[0-9.]+ \(\$[0-9.]+ idle\)/);
    const [, cost, idle] = (await row.textContent())!.match(/\$([0-9.]+) \(\$([0-9.]+) idle\)/)!;
    expect(Math.abs(Number(cost) - Number(spend![1]))).toBeLessThan(0.011);
    expect(Number(idle)).toBeGreaterThan(0);
    expect(Number(idle)).toBeLessThan(Number(cost));
  } finally {
    for (const child of server) child.kill("SIGTERM");
    await Promise.all(server.map((child) => new Promise((done) => (child.exitCode === null ? child.once("exit", done) : done(null)))));
    // A runner the test left behind (on a failure midway) would outlive it.
    const left = join(scripts, "machines");
    for (const machine of existsSync(left) ? readdirSync(left) : []) {
      const pid = join(left, machine, "pid");
      if (existsSync(pid)) {
        try {
          process.kill(Number(readFileSync(pid, "utf8")), "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    }
    store.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
