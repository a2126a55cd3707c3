import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium, never a downloaded browser; flags keep it quiet and offline in CI containers. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Launch headless Chromium. Call `requireTool(this, 'chromium')` first. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** What went wrong inside a page: script errors, console errors (CSP reports land here) and dialogs. */
export interface PageProblems {
  errors: string[];
  dialogs: string[];
  /** Dialogs a test said would come (see `answerNextDialog`), with their messages: not problems. */
  answered: string[];
  /** How to answer the next dialog, when a test expects one. */
  nextAnswer?: 'accept' | 'dismiss';
}

/** The page's next dialog is expected (a confirmation the test triggers): answer it so. */
export function answerNextDialog(problems: PageProblems, answer: 'accept' | 'dismiss'): void {
  problems.nextAnswer = answer;
}

/**
 * Record a page's problems; dialogs are dismissed and recorded, so an `alert()` injected
 * through data shows up as a failure instead of hanging the test.
 */
export function watchPage(page: Page): PageProblems {
  const problems: PageProblems = { errors: [], dialogs: [], answered: [] };
  page.on('pageerror', (error) => problems.errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.errors.push(`console: ${message.text()}`);
  });
  page.on('dialog', (dialog) => {
    const answer = problems.nextAnswer;
    problems.nextAnswer = undefined;
    if (answer === undefined) {
      problems.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      return void dialog.dismiss();
    }
    problems.answered.push(dialog.message());
    void (answer === 'accept' ? dialog.accept() : dialog.dismiss());
  });
  return problems;
}
