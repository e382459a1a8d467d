// vitest setup file: lets the worker's event loop turn between tests. On the CPU backend reads resolve at
// once, so a file of compute-heavy tests never yields to the macrotask queue; vitest's worker-to-runner calls
// (onTaskUpdate) then time out after 60 s and fail a run whose tests all passed.
import { setImmediate } from 'node:timers';
import { beforeEach } from 'vitest';

beforeEach(() => new Promise((resolve) => setImmediate(resolve)));
