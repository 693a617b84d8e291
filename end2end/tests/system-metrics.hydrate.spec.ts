import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { test, expect, openHydrated, signedIn, seedProject, api } from "./fixtures";

// A real `millrace runner` samples a running job's GPU (a stub nvidia-smi on its PATH answers as
// a busy A100), CPU and memory; the open metrics tab shows them under "System" as they come.

const bin = process.env.MILLRACE_BIN ?? join(homedir(), ".cache/millrace-target/debug/millrace");
const server = `http://127.0.0.1:${process.env.MILLRACE_E2E_PORT ?? 3311}`;

const stub = `#!/bin/sh
case "$1" in
  --query-gpu=index,name,memory.total,uuid) echo "0, NVIDIA A100-SXM4-80GB, 81920, GPU-e2e" ;;
  --query-gpu=index,utilization.gpu,*) echo "0, 87, 40000, 81920, 300.5, 400.00, 64" ;;
  *) exit 2 ;;
esac
`;

test("a running job's system metrics appear live under System in its metrics tab", async ({ page }) => {
  test.setTimeout(60_000);
  const processes: ChildProcess[] = [];
  try {
    await signedIn(page);
    const project = await seedProject(page, "system", []);
    const applied = await api(page).post(`/api/v1/projects/alice/${project}/apply`, {
      data: { name: "sampled", gpus: 1, plan: { command: { shell: 'echo "step=0 loss=1"; sleep 12' }, metrics: { names: ["loss"] } } },
    });
    expect(applied.status(), await applied.text()).toBe(201);
    await openHydrated(page, `/u/alice/p/${project}/j/1?tab=metrics`);
    let reloads = 0;
    page.on("load", () => reloads++);

    const folder = mkdtempSync(join(tmpdir(), "millrace-e2e-gpu-"));
    writeFileSync(join(folder, "nvidia-smi"), stub);
    chmodSync(join(folder, "nvidia-smi"), 0o755);
    const name = `sampler-${Date.now().toString(36)}`;
    const made = ["runner-token", "create", "--name", name, "--database", process.env.MILLRACE_E2E_DATABASE!];
    const token = execFileSync(bin, made, { stdio: ["ignore", "pipe", "ignore"] }).toString().trim().split("\n").pop()!;
    // Earlier tests leave queued jobs (a `sleep 60` among them) that this runner leases too:
    // room for them beside this test's job, which alone asks for the GPU.
    const runner = spawn(
      bin,
      ["runner", "--server", server, "--name", name, "--workdir", join(folder, "work"),
        "--system-metrics-interval", "1s", "--max-jobs", "8"],
      { env: { ...process.env, PATH: `${folder}:${process.env.PATH}`, MILLRACE_RUNNER_TOKEN: token }, stdio: "ignore" },
    );
    processes.push(runner);

    await expect(page.getByRole("heading", { name: "System" })).toBeVisible({ timeout: 20_000 });
    const utilization = page.getByRole("figure", { name: "system/gpu_0_utilization_percentage" });
    await expect(utilization).toBeVisible();
    await expect(page.getByRole("figure", { name: "system/cpu_utilization_percentage" })).toBeVisible();
    // The job's own metric comes first, the machine's after the heading.
    const keys = await page.locator("figure.panel").evaluateAll((figures) => figures.map((f) => f.getAttribute("data-key")));
    expect(keys[0]).toBe("loss");
    expect(keys.slice(1).every((key) => key?.startsWith("system/"))).toBe(true);
    // More samples arrive while the tab is open (panels follow while they are on screen).
    await utilization.scrollIntoViewIfNeeded();
    await expect(utilization).toContainText(/· ([3-9]|\d{2,}) points/, { timeout: 15_000 });
    expect(reloads, "the panels came over the event stream, without a reload").toBe(0);
  } finally {
    for (const child of processes) child.kill("SIGKILL");
  }
});
