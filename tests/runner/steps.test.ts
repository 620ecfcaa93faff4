// The run steps the smoke and the drill share (runner/steps.ts) that need no engine: the teardown stack (reverse
// order, each once, a failing stop does not keep the others from running), the interrupt hooks, and runCommand's
// exit codes (2 usage, 1 error, 130/143 interrupted) with the stack unwound in every case. Milliseconds.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Interrupted } from '../../runner/run-lifecycle.js';
import { ProvisionError } from '../../runner/provision.js';
import { RunContext, runCommand, TeardownStack, isRunnerUsageError } from '../../runner/steps.js';
import { UsageError } from '../../runner/smoke-config.js';

describe('TeardownStack', () => {
  it('unwinds newest first, each entry once', async () => {
    const done: string[] = [];
    const t = new TeardownStack();
    t.push('target', () => void done.push('target'));
    t.push('heal', async () => void done.push('heal'));
    t.push('watchers', () => void done.push('watchers'));
    await t.unwind();
    await t.unwind();
    expect(done).toEqual(['watchers', 'heal', 'target']);
  });

  it('a failing stop does not keep the older ones from running: reported to onError, or thrown after all ran', async () => {
    const done: string[] = [];
    const t = new TeardownStack();
    t.push('target', () => void done.push('target'));
    t.push('heal', () => {
      throw new Error('boom');
    });
    const seen: string[] = [];
    await t.unwind((name, err) => seen.push(`${name}: ${err.message}`));
    expect(done).toEqual(['target']);
    expect(seen).toEqual(['heal: boom']);

    t.push('target', () => void done.push('target again'));
    t.push('heal', () => {
      throw new Error('boom 2');
    });
    await expect(t.unwind()).rejects.toThrow('boom 2');
    expect(done).toEqual(['target', 'target again']);
  });
});

function context() {
  const lines: string[] = [];
  const signals = new EventEmitter();
  const ctx = new RunContext('cmd', { log: (l) => lines.push(l), out: (t) => lines.push(`out: ${t}`), signals });
  return { ctx, lines, signals };
}
const opts = { onSignal: 'stopping everything', isUsageError: isRunnerUsageError };

describe('runCommand', () => {
  it('returns the body\'s code, unwinds the stack, leaves no signal listener', async () => {
    const { ctx, signals } = context();
    const done: string[] = [];
    const code = await runCommand(ctx, opts, async (c) => {
      c.teardown.push('a', () => void done.push('a'));
      c.teardown.push('b', () => void done.push('b'));
      expect(signals.listenerCount('SIGTERM')).toBe(1);
      return 0;
    });
    expect(code).toBe(0);
    expect(done).toEqual(['b', 'a']);
    expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('bad usage and provisioning: exit 2 with one line; any other error: 1 with the stack; the stack unwound both times', async () => {
    for (const [err, code, line] of [
      [new UsageError('--profile', '--profile: no such profile'), 2, /^cmd: --profile: no such profile$/],
      [new ProvisionError('k6: cannot build'), 2, /^cmd: k6: cannot build$/],
      [new Error('kaput'), 1, /^cmd: Error: kaput\n/],
    ] as const) {
      const { ctx, lines } = context();
      let unwound = false;
      const got = await runCommand(ctx, opts, async (c) => {
        c.teardown.push('x', () => void (unwound = true));
        throw err;
      });
      expect(got).toBe(code);
      expect(lines[0]).toMatch(line);
      expect(unwound).toBe(true);
    }
  });

  it('SIGTERM: logs what it does, runs the hooks newest first (and a hook added later at once), the next check exits 143', async () => {
    const { ctx, lines, signals } = context();
    const hooks: string[] = [];
    const code = await runCommand(ctx, opts, async (c) => {
      c.onInterrupt(() => hooks.push('heal'));
      c.onInterrupt(() => hooks.push('stop k6'));
      signals.emit('SIGTERM', 'SIGTERM');
      signals.emit('SIGINT', 'SIGINT'); // only the first signal counts
      c.onInterrupt((sig) => hooks.push(`late ${sig}`));
      c.check();
      return 0;
    });
    expect(code).toBe(143);
    expect(hooks).toEqual(['stop k6', 'heal', 'late SIGTERM']);
    expect(lines.filter((l) => /\[cmd\] SIG/.test(l)).map((l) => l.replace(/^\S+ /, ''))).toEqual(['[cmd] SIGTERM: stopping everything']);
    expect(lines.at(-1)).toMatch(/\[cmd\] interrupted by SIGTERM$/);
    expect(ctx.interrupted).toBe('SIGTERM');
  });

  it('Interrupted thrown by SIGINT exits 130', async () => {
    const { ctx } = context();
    expect(await runCommand(ctx, opts, async () => Promise.reject(new Interrupted('SIGINT')))).toBe(130);
  });
});

describe('RunContext.timed', () => {
  it('keeps the step\'s time in durations and logs `done in`', async () => {
    const { ctx, lines } = context();
    const r = await ctx.timed('buildMs', 'build', async (l) => {
      l('building');
      await new Promise((res) => setTimeout(res, 20));
      return 'dist/x.js';
    });
    expect(r).toBe('dist/x.js');
    expect(ctx.durations.buildMs).toBeGreaterThanOrEqual(15);
    expect(lines.map((l) => l.replace(/^\S+ /, ''))).toEqual(['[build] building', expect.stringMatching(/^\[build\] done in \d+\.\d s$/)]);
  });
});
