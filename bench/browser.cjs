// What the browser benchmarks share: Debian's Chromium, headless, launched through the Playwright
// module named by PLAYWRIGHT_MODULE, and the median of a few runs.
const { chromium } = require(process.env.PLAYWRIGHT_MODULE);

/** Launches the system Chromium as every benchmark measures it. */
exports.launch = () =>
  chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
  });

/** The middle of `values` (sorted in place). */
exports.median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
