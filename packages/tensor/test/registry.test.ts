import { describe, expect, it, vi } from 'vitest';

describe('backend registry', () => {
  it('importing @tessera/tensor creates no backend; the CPU backend is created on first use', async () => {
    vi.resetModules();
    const t = await import('../src/index.js');
    expect(t.registeredBackends()).toContain('cpu');
    expect(t.isBackendInitialised('cpu')).toBe(false);
    const x = t.zeros([2]);
    expect(x.backend).toBe('cpu');
    expect(t.isBackendInitialised('cpu')).toBe(true);
    x.dispose();
  });

  it('the implicit default is the highest-priority host backend that works, with the reason', async () => {
    vi.resetModules();
    const t = await import('../src/index.js');
    const cpu = t.backendByName('cpu');
    t.registerBackend(
      'broken-host',
      () => {
        throw new Error('library not found');
      },
      { priority: 20, implicitDefault: true },
    );
    t.registerBackend('fast-host', async () => cpu, { priority: 10, implicitDefault: true });
    const d = t.describeDefaultBackend();
    expect(d.name).toBe('cpu');
    expect(d.reason).toContain('broken-host (priority 20) is unavailable: library not found');
    expect(d.reason).toContain('fast-host (priority 10) is unavailable');
    expect(d.reason).toContain('asynchronous');
    expect(t.getBackend().name).toBe('cpu');
  });

  it('a working higher-priority host backend becomes the default', async () => {
    vi.resetModules();
    const t = await import('../src/index.js');
    const { CpuBackend } = await import('../src/cpu/index.js');
    t.registerBackend('host2', () => new CpuBackend({ name: 'host2', threads: 1 }), { priority: 5, implicitDefault: true });
    expect(t.describeDefaultBackend()).toEqual({ name: 'host2', reason: 'priority 5; preferred to cpu (priority 0)' });
    expect(t.getBackend().name).toBe('host2');
    expect(t.zeros([1]).backend).toBe('host2');
  });
});
