// Opens the sweep view URL in Chromium, fresh each time, and reports when the trials table had
// all its rows, the first paint after that, and when the page hydrated (medians of the runs).
// Usage: node bench/sweep-view.cjs URL   (MILLRACE_TOKEN and PLAYWRIGHT_MODULE set)
const { launch, median } = require("./browser.cjs");

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const [url] = process.argv.slice(2);
const headers = { Authorization: `Bearer ${process.env.MILLRACE_TOKEN}` };

// Runs in the page before its own scripts: notes the moment the 1,000th trial row is there.
const watch = () => {
  new MutationObserver((_, observer) => {
    const rows = document.querySelectorAll('table[aria-label="Trials"] tbody tr').length;
    if (window.__rows === undefined && rows >= 1000) {
      window.__rows = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
};

(async () => {
  const browser = await launch();
  const rows = [], paints = [], hydrated = [];
  for (let i = 0; i < RUNS; i += 1) {
    const context = await browser.newContext({ extraHTTPHeaders: headers });
    const page = await context.newPage();
    await page.addInitScript(watch);
    await page.goto(url);
    await page.waitForFunction(() => window.__rows !== undefined);
    await page.locator('main[data-hydrated="true"]').waitFor({ state: "attached" });
    const times = await page.evaluate(() => {
      const paint = performance.getEntriesByType("paint").find((p) => p.startTime >= window.__rows);
      const first = performance.getEntriesByName("first-contentful-paint")[0];
      return { rows: window.__rows, paint: (paint ?? first)?.startTime ?? window.__rows, hydrated: performance.now() };
    });
    rows.push(times.rows);
    paints.push(Math.max(times.paint, times.rows));
    hydrated.push(times.hydrated);
    await context.close();
  }
  await browser.close();
  const ms = (v) => `${median(v).toFixed(0)} ms`;
  console.log(`  1,000 trial rows in the page: ${ms(rows)} (median of ${RUNS})`);
  console.log(`  painted:                      ${ms(paints)}`);
  console.log(`  hydrated (or measured after): ${ms(hydrated)}`);
})();
