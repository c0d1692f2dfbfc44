import { Inject, Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { EvidenceBundle } from '@aos/logs-domain';
import { Semaphore } from './semaphore';
import { type EvidenceDocumentOptions, renderEvidenceHtml } from './templates/evidence-document';

export interface PdfRendererOptions {
  /** Chromium binary; default `PUPPETEER_EXECUTABLE_PATH`, else `/usr/bin/chromium`. */
  executablePath?: string;
  /** Pages rendering at once (default 2). */
  concurrency?: number;
  /** Renders per browser before it is replaced by a fresh one (default 100). */
  recycleAfter?: number;
  /** Longest one render may take, ms (default 30 000); waiting for a free page does not count. */
  timeoutMs?: number;
  /** Longest a browser launch may take, ms (default 30 000). */
  launchTimeoutMs?: number;
  /** Tagged (accessible) PDF with an outline of the headings (default true). */
  tagged?: boolean;
  /**
   * Reuse a page that rendered cleanly for the next render on the same browser
   * (default true): opening a page costs about as much as rendering a bundle.
   * setContent replaces its whole document; scripts are off and nothing is
   * fetched, so nothing of one render survives into the next. At most
   * `concurrency` pages exist per browser; a page that failed or timed out is
   * closed, and all of them go with their browser when it is recycled.
   */
  reusePages?: boolean;
  /** More Chromium flags. */
  extraArgs?: string[];
}

export const PDF_RENDERER_OPTIONS = Symbol('PDF_RENDERER_OPTIONS');

/** Flags for a headless, sandbox-less Chromium in a container that must not phone home. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export class PdfRenderTimeoutError extends Error {
  constructor(ms: number) {
    super(`PDF rendering took longer than ${ms} ms`);
    this.name = 'PdfRenderTimeoutError';
  }
}

export interface PdfRendererStats {
  /** Browsers launched so far (1 + replacements after crashes and recycling). */
  launches: number;
  /** Renders finished (successfully or not) since the start. */
  renders: number;
  /** Renders started on the current browser. */
  rendersOnBrowser: number;
  /** Process id of the current browser; null before the first render or after a crash. */
  browserPid: number | null;
  /** Pages rendering now, and the most ever rendering at once. */
  activePages: number;
  peakActivePages: number;
  /** Pages opened since the start (reused pages are opened once per browser). */
  pagesOpened: number;
}

interface BrowserSlot {
  browser: Browser;
  pid: number | null;
  renders: number;
  active: number;
  retired: boolean;
  /** Pages that rendered cleanly, waiting for the next render. */
  idle: Page[];
}

/**
 * Renders evidence bundles to PDF with one Chromium per process: launched on
 * first use, shared by every render, replaced after `recycleAfter` renders (a
 * long-lived browser grows) and whenever it crashes or disconnects. At most
 * `concurrency` pages render at once; each render has a timeout; a page is
 * closed in `finally` unless it rendered cleanly, in which case it serves the
 * next render (see `reusePages`). JavaScript is off and the document's CSP
 * forbids every fetch, so a bundle's content cannot run code or reach the network.
 *
 * Usable as a Nest provider or as a plain class: `new PdfRenderer({ concurrency: 2 })`.
 */
@Injectable()
export class PdfRenderer implements OnApplicationShutdown {
  private readonly logger = new Logger(PdfRenderer.name);
  private readonly executablePath: string;
  private readonly recycleAfter: number;
  private readonly timeoutMs: number;
  private readonly launchTimeoutMs: number;
  private readonly tagged: boolean;
  private readonly args: string[];
  private readonly pages: Semaphore;
  private slot: BrowserSlot | null = null;
  private launching: Promise<BrowserSlot> | null = null;
  private readonly retiring = new Set<BrowserSlot>();
  private closed = false;
  private readonly reusePages: boolean;
  private counters = { launches: 0, renders: 0, activePages: 0, peakActivePages: 0, pagesOpened: 0 };

  constructor(@Optional() @Inject(PDF_RENDERER_OPTIONS) options: PdfRendererOptions | null = null) {
    const o = options ?? {};
    this.executablePath = o.executablePath ?? process.env['PUPPETEER_EXECUTABLE_PATH'] ?? '/usr/bin/chromium';
    this.recycleAfter = positive('recycleAfter', o.recycleAfter ?? 100);
    this.timeoutMs = positive('timeoutMs', o.timeoutMs ?? 30_000);
    this.launchTimeoutMs = positive('launchTimeoutMs', o.launchTimeoutMs ?? 30_000);
    this.tagged = o.tagged ?? true;
    this.reusePages = o.reusePages ?? true;
    this.args = [...CHROMIUM_ARGS, ...(o.extraArgs ?? [])];
    this.pages = new Semaphore(positive('concurrency', o.concurrency ?? 2));
  }

  /** The PDF of a bundle (A4, page numbers in the footer). */
  render(bundle: EvidenceBundle, options: EvidenceDocumentOptions = {}): Promise<Buffer> {
    return this.renderHtml(renderEvidenceHtml(bundle, options));
  }

  /** The PDF of an HTML document; `@page` CSS decides the paper size. */
  renderHtml(html: string, options: { timeoutMs?: number } = {}): Promise<Buffer> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return this.pages.run(async () => {
      if (this.closed) throw new Error('the PDF renderer is closed');
      const slot = await this.acquire();
      let page: Page | null = null;
      let finished = false;
      let succeeded = false;
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      this.counters.activePages++;
      this.counters.peakActivePages = Math.max(this.counters.peakActivePages, this.counters.activePages);
      try {
        const work = (async () => {
          let reused = slot.idle.pop();
          while (reused?.isClosed()) reused = slot.idle.pop();
          const p = reused ?? (await this.openPage(slot));
          if (finished) {
            // The deadline passed while the page opened: nobody else will close it.
            await p.close().catch(() => undefined);
            throw new PdfRenderTimeoutError(timeoutMs);
          }
          page = p;
          // setContent replaces the whole document of a reused page.
          await p.setContent(html, { waitUntil: 'load', timeout: timeoutMs });
          const pdf = await p.pdf({ preferCSSPageSize: true, printBackground: true, tagged: this.tagged, outline: this.tagged, timeout: timeoutMs });
          return Buffer.from(pdf);
        })();
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timedOut = true;
            reject(new PdfRenderTimeoutError(timeoutMs));
          }, timeoutMs);
        });
        work.catch(() => undefined);
        const pdf = await Promise.race([work, deadline]);
        succeeded = true;
        return pdf;
      } catch (err) {
        if (!slot.browser.connected) {
          throw new Error(`Chromium crashed or disconnected while rendering: ${err instanceof Error ? err.message : String(err)}`);
        }
        // A render that hangs may mean a wedged browser: the next render gets a fresh one.
        if (timedOut) this.retire(slot, 'a render timed out');
        throw err;
      } finally {
        finished = true;
        clearTimeout(timer);
        this.counters.activePages--;
        this.counters.renders++;
        const used = page as Page | null;
        if (used) {
          // A page that rendered cleanly serves the next render on this browser; any other is closed.
          if (succeeded && this.reusePages && !slot.retired && slot.browser.connected) slot.idle.push(used);
          else await withTimeout(used.close(), 5_000).catch(() => undefined);
        }
        this.release(slot);
      }
    });
  }

  private async openPage(slot: BrowserSlot): Promise<Page> {
    const page = await slot.browser.newPage();
    this.counters.pagesOpened++;
    // Documents are static: no script of theirs runs (their CSP forbids it too).
    await page.setJavaScriptEnabled(false);
    return page;
  }

  stats(): PdfRendererStats {
    return {
      launches: this.counters.launches,
      renders: this.counters.renders,
      rendersOnBrowser: this.slot?.renders ?? 0,
      browserPid: this.slot?.browser.connected ? this.slot.pid : null,
      activePages: this.counters.activePages,
      peakActivePages: this.counters.peakActivePages,
      pagesOpened: this.counters.pagesOpened,
    };
  }

  /** Closes every browser; later renders fail. */
  async close(): Promise<void> {
    this.closed = true;
    // A launch in progress sees `closed` and closes its own browser.
    await this.launching?.catch(() => undefined);
    const slots = [...this.retiring];
    if (this.slot) slots.push(this.slot);
    this.slot = null;
    await Promise.all(slots.map((s) => this.closeBrowser(s)));
  }

  /** Last, after the queues have let their running jobs end (they stop in onModuleDestroy). */
  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private async acquire(): Promise<BrowserSlot> {
    for (;;) {
      if (this.closed) throw new Error('the PDF renderer is closed');
      const slot = this.slot;
      if (slot) {
        if (!slot.browser.connected) {
          this.slot = null;
          continue;
        }
        if (slot.renders >= this.recycleAfter) {
          this.retire(slot, `${slot.renders} renders done`);
          continue;
        }
        slot.renders++;
        slot.active++;
        return slot;
      }
      if (!this.launching) {
        this.launching = this.launch().finally(() => {
          this.launching = null;
        });
      }
      await this.launching;
    }
  }

  private release(slot: BrowserSlot): void {
    slot.active--;
    if (slot.retired && slot.active === 0) void this.closeBrowser(slot);
  }

  private async launch(): Promise<BrowserSlot> {
    const started = Date.now();
    const browser = await puppeteer.launch({
      executablePath: this.executablePath,
      headless: true,
      // A pipe instead of a WebSocket: if this process dies (even by SIGKILL), Chromium sees
      // the pipe close and exits instead of living on as an orphan.
      pipe: true,
      args: this.args,
      timeout: this.launchTimeoutMs,
      // The owner of the process decides when to stop; close() ends the browser.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    const slot: BrowserSlot = { browser, pid: browser.process()?.pid ?? null, renders: 0, active: 0, retired: false, idle: [] };
    this.counters.launches++;
    browser.on('disconnected', () => {
      if (this.slot === slot) this.slot = null;
      this.retiring.delete(slot);
      if (!slot.retired && !this.closed) this.logger.warn(`Chromium (pid ${slot.pid}) disconnected; the next render launches a new one`);
      slot.retired = true;
    });
    if (this.closed) {
      await this.closeBrowser(slot);
      throw new Error('the PDF renderer is closed');
    }
    this.slot = slot;
    this.logger.log(`Chromium launched (pid ${slot.pid}, ${Date.now() - started} ms, launch #${this.counters.launches})`);
    return slot;
  }

  private retire(slot: BrowserSlot, why: string): void {
    if (slot.retired) return;
    slot.retired = true;
    if (this.slot === slot) this.slot = null;
    this.logger.log(`Recycling Chromium (pid ${slot.pid}): ${why}`);
    if (slot.active === 0) void this.closeBrowser(slot);
    else this.retiring.add(slot);
  }

  private async closeBrowser(slot: BrowserSlot): Promise<void> {
    slot.retired = true;
    this.retiring.delete(slot);
    if (this.slot === slot) this.slot = null;
    try {
      await withTimeout(slot.browser.close(), 5_000);
    } catch {
      // A wedged browser: end its process.
      try {
        slot.browser.process()?.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 1) throw new RangeError(`${name} must be a positive number`);
  return value;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
