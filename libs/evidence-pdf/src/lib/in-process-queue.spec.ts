import { InProcessQueue } from './in-process-queue';
import { Semaphore } from './semaphore';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe(InProcessQueue.name, () => {
  it('queues a job id once while it waits or runs, and again once it has ended', async () => {
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new InProcessQueue<string>(async (data) => {
      seen.push(data);
      await gate;
    });
    expect(q.add('a', 'first')).toBe(true);
    expect(q.add('a', 'second')).toBe(false);
    await tick();
    expect(q.add('a', 'third')).toBe(false);
    release();
    await q.onIdle();
    expect(seen).toEqual(['first']);
    expect(q.add('a', 'fourth')).toBe(true);
    await q.onIdle();
    expect(seen).toEqual(['first', 'fourth']);
  });

  it('retries a failing job with exponential backoff up to the attempt limit', async () => {
    const calls: Array<{ at: number; attemptsMade: number; maxAttempts: number }> = [];
    const start = Date.now();
    const q = new InProcessQueue<null>(
      async (_, attempt) => {
        calls.push({ at: Date.now() - start, ...attempt });
        throw new Error('boom');
      },
      () => false,
      { attempts: 4, backoffMs: 20 },
    );
    q.add('j', null);
    await q.onIdle();
    expect(calls.map((c) => c.attemptsMade)).toEqual([0, 1, 2, 3]);
    expect(calls.every((c) => c.maxAttempts === 4)).toBe(true);
    // 20, 40, 80 ms between attempts (at least).
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at);
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeGreaterThanOrEqual(78);
  });

  it('stops retrying a job whose error is permanent, and succeeds on a later attempt otherwise', async () => {
    let n = 0;
    const permanent = new Error('permanent');
    const q = new InProcessQueue<string>(
      async (kind) => {
        n++;
        if (kind === 'bad') throw permanent;
        if (n < 3) throw new Error('transient');
      },
      (err) => err === permanent,
      { attempts: 5, backoffMs: 1 },
    );
    q.add('bad', 'bad');
    await q.onIdle();
    expect(n).toBe(1);
    q.add('good', 'good');
    await q.onIdle();
    expect(n).toBe(3);
  });

  it('runs at most `concurrency` jobs at once', async () => {
    let running = 0;
    let peak = 0;
    const q = new InProcessQueue<number>(
      async () => {
        running++;
        peak = Math.max(peak, running);
        await tick(5);
        running--;
      },
      () => false,
      { concurrency: 2 },
    );
    for (let i = 0; i < 10; i++) q.add(`j${i}`, i);
    expect(q.counts()).toEqual({ waiting: 8, delayed: 0, active: 2 });
    await q.onIdle();
    expect(peak).toBe(2);
  });

  it('on close, lets running jobs end, drops waiting ones and refuses new ones', async () => {
    const done: number[] = [];
    const q = new InProcessQueue<number>(
      async (i) => {
        await tick(10);
        done.push(i);
      },
      () => false,
      { concurrency: 1 },
    );
    q.add('1', 1);
    q.add('2', 2);
    await tick();
    await q.close();
    expect(done).toEqual([1]);
    expect(() => q.add('3', 3)).toThrow(/closed/);
  });
});

describe(Semaphore.name, () => {
  it('lets `permits` tasks run at once, in arrival order', async () => {
    const s = new Semaphore(2);
    const order: string[] = [];
    let running = 0;
    let peak = 0;
    const task = (name: string) =>
      s.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(name);
        await tick(5);
        running--;
      });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map(task));
    expect(peak).toBe(2);
    expect(order).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(s.inUse).toBe(0);
  });

  it('releases the permit when a task throws', async () => {
    const s = new Semaphore(1);
    await expect(s.run(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(s.run(async () => 'ok')).resolves.toBe('ok');
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
