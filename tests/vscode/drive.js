// Drives VS Code (code-server) in headless Chromium the way a user would: open the file, put
// the cursor on the TODO line, Ctrl+. and pick "Implement TODO" with the keyboard, wait for
// the implementation to appear, save, take a screenshot.
//
//   NODE_PATH=<dir with playwright-core> node drive.js URL FILE_NAME SCREENSHOT_PATH
//
// Prints one JSON line {ok, statusBar, notifications, editor, steps} on stdout; exits 1 on
// failure (after a screenshot of the failure next to SCREENSHOT_PATH).
'use strict';
const { chromium } = require('playwright-core');

const [url, fileName, screenshotPath] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const WORKBENCH_TIMEOUT_MS = 180_000; // code-server's first load compiles a lot of JS
const SERVER_READY_TIMEOUT_MS = 120_000; // the extension starts the server, which loads pygls
const GENERATION_TIMEOUT_MS = 300_000; // model load + generation on a slow CPU

const steps = [];
const step = (what) => steps.push(`${new Date().toISOString()} ${what}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The editor's visible text; VS Code renders spaces as no-break spaces. */
async function editorText(page) {
  const text = await page.locator('.monaco-editor .view-lines').first().innerText();
  return text.replace(/\u00a0/g, ' ');
}

async function openFile(page) {
  await page.locator('.monaco-workbench').waitFor({ timeout: WORKBENCH_TIMEOUT_MS });
  step('workbench shown');
  // The Explorer lists the workspace folder; a double click opens the file in a pinned tab.
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: fileName });
  await row.first().waitFor({ timeout: WORKBENCH_TIMEOUT_MS });
  await row.first().dblclick();
  await page.locator('.monaco-editor .view-line', { hasText: 'TODO' }).first()
    .waitFor({ timeout: 60_000 });
  step(`opened ${fileName}`);
}

/** Ctrl+. on the TODO line until the server's action is listed (the server may be starting). */
async function openQuickFixMenu(page) {
  const deadline = Date.now() + SERVER_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await page.locator('.monaco-editor .view-line', { hasText: 'TODO' }).first().click();
    await page.keyboard.press('End');
    await page.keyboard.press('Control+.');
    const widget = page.locator('.action-widget');
    try {
      await widget.waitFor({ state: 'visible', timeout: 5_000 });
      await widget.locator('.monaco-list-row', { hasText: 'Implement TODO' }).first()
        .waitFor({ timeout: 3_000 });
      step(`quick fix menu: ${JSON.stringify(await widget.innerText())}`);
      return widget;
    } catch {
      // "No code actions available" (server not ready yet) or no widget: close and retry.
      await page.keyboard.press('Escape');
      await sleep(2_000);
    }
  }
  throw new Error('the Quick Fix menu never listed "Implement TODO"');
}

/** Arrow keys until the focused row is the Implement action, then Enter. */
async function chooseImplement(page, widget) {
  for (let i = 0; i < 10; i++) {
    const focused = await widget.locator('.monaco-list-row.focused').first().innerText()
      .catch(() => '');
    if (focused.includes('Implement TODO')) {
      step(`choosing ${JSON.stringify(focused)}`);
      await page.keyboard.press('Enter');
      return;
    }
    await page.keyboard.press('ArrowDown');
  }
  throw new Error('could not focus the "Implement TODO" action with the keyboard');
}

async function waitForImplementation(page) {
  const deadline = Date.now() + GENERATION_TIMEOUT_MS;
  let sawBusy = false;
  while (Date.now() < deadline) {
    const status = await page.locator('.statusbar').innerText().catch(() => '');
    sawBusy ||= /vibe-ls (?:[\w /]+: )?\d+ tokens/.test(status);  // "vibe-ls writing: 57 tokens, …"
    const text = await editorText(page);
    if (text.includes('Time: O(') && !text.includes('TODO')) {
      step(`implementation shown (status bar showed progress: ${sawBusy})`);
      return sawBusy;
    }
    await sleep(250);
  }
  throw new Error(`no implementation after ${GENERATION_TIMEOUT_MS / 1000} s`);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const result = { ok: false, steps };
  try {
    await page.goto(url, { timeout: WORKBENCH_TIMEOUT_MS });
    await openFile(page);
    await chooseImplement(page, await openQuickFixMenu(page));
    result.sawProgress = await waitForImplementation(page);
    // The server's summary ("vibe-ls: implemented `max_of` — Time O(n) ...; N tokens at R tok/s").
    const toast = page.locator('.notifications-toasts', { hasText: 'vibe-ls: implemented' });
    await toast.waitFor({ timeout: 30_000 }).catch(() => step('no summary notification'));
    await page.locator('.statusbar', { hasText: 'tok/s' }).waitFor({ timeout: 10_000 })
      .catch(() => step('status bar shows no tok/s'));
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+S');
    await page.locator('.tab.active.dirty').waitFor({ state: 'detached', timeout: 30_000 })
      .catch(() => step('the tab still looks dirty'));
    step('saved');
    await sleep(500); // let the notification finish its entry animation
    await page.screenshot({ path: screenshotPath });
    result.editor = await editorText(page);
    result.statusBar = await page.locator('.statusbar').innerText();
    result.notifications = await page.locator('.notifications-toasts').innerText()
      .catch(() => '');
    result.ok = true;
  } catch (error) {
    result.error = String(error && error.stack || error);
    await page.screenshot({ path: screenshotPath.replace(/\.png$/, '-failure.png') })
      .catch(() => {});
    result.statusBar = await page.locator('.statusbar').innerText().catch(() => '');
    result.notifications = await page.locator('.notifications-toasts').innerText()
      .catch(() => '');
  } finally {
    await browser.close();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(result.ok ? 0 : 1);
}

main().catch((error) => {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(error), steps })}\n`);
  process.exit(1);
});
