import { defineConfig } from "@playwright/test";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

// The debug build that scripts/test.sh made; MILLRACE_BIN overrides it.
const bin = process.env.MILLRACE_BIN ?? join(homedir(), ".cache/millrace-target/debug/millrace");
const port = Number(process.env.MILLRACE_E2E_PORT ?? 3311);
// Workers load this file again in their own processes: they take the runner's database from the
// environment it hands them, so a test can run the CLI on the same store the server uses.
const database = (process.env.MILLRACE_E2E_DATABASE ??= `sqlite://${join(tmpdir(), `millrace-e2e-${process.pid}.db`)}`);

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  retries: 0,
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  // Every spec runs hydrated and without JavaScript; specs that need scripts say so in their name.
  projects: [
    { name: "hydrated", use: { javaScriptEnabled: true } },
    { name: "no-js", use: { javaScriptEnabled: false }, testIgnore: /\.hydrate\.spec\.ts$/ },
  ],
  webServer: {
    // A small demo keeps start-up quick; the server is the real binary on a real SQLite file.
    // A SQLite file is made afresh; a PostgreSQL URL must name an empty schema of its own.
    command:
      (database.startsWith("sqlite://") ? `rm -f ${database.slice(9)}* && ` : "") +
      `${bin} demo --database '${database}' --jobs 300 --long-series 1000 ` +
      `&& exec ${bin} serve --database '${database}' --addr 127.0.0.1:${port}`,
    cwd: "..",
    url: `http://127.0.0.1:${port}/healthz`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
  },
});
