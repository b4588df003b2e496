// The ingest's status page of a test engine, open in a real headless browser: Debian's chromium (installed
// through the stack's apt helper, never a downloaded browser) driven by puppeteer-core, logged in with the
// ingest's token as basic auth.
import puppeteer, { type Page } from 'puppeteer-core';
import { ensurePackages } from '../../scripts/stack/apt';
import { buildIngestServer } from '../../src/http/server';
import type { Engine } from './engine';

const CHROMIUM = '/usr/bin/chromium';

export interface StatusPage {
  /** The ingest's base URL (`${base}/status` is the page; POST `${base}/` takes events with the token). */
  base: string;
  token: string;
  page: Page;
  /** The element's visible text. */
  text(selector: string): Promise<string>;
  close(): Promise<void>;
}

export async function openStatusPage(engine: Engine, { javaScript = true } = {}): Promise<StatusPage> {
  await ensurePackages(['chromium']);
  const token = 'secret';
  const ingest = buildIngestServer({
    publisher: engine.client,
    authToken: token,
    status: { settings: engine.settings, ...engine.deps },
  });
  const base = await ingest.listen({ host: '127.0.0.1', port: 0 });
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  const page = await browser.newPage();
  await page.setJavaScriptEnabled(javaScript);
  await page.authenticate({ username: 'operator', password: token });
  return {
    base,
    token,
    page,
    text: (selector) => page.$eval(selector, (el: unknown) => (el as { innerText: string }).innerText),
    async close() {
      await browser.close();
      await ingest.close();
    },
  };
}
