import { existsSync } from 'node:fs';
import { packageTests } from '../../scripts/vitest-package.mjs';

// The webgpu test runs on Dawn with SwiftShader, the CPU Vulkan driver Debian's `chromium` ships (as
// packages/backend-webgpu's tests do): point Dawn at it unless the environment names a driver, here in the main
// process so the forked workers inherit it.
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const systemLoader = [
    '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
    '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
    '/usr/lib64/libvulkan.so.1',
    '/usr/lib/libvulkan.so.1',
  ].some(existsSync);
  if (!systemLoader && existsSync('/usr/lib/chromium/libvulkan.so.1')) {
    process.env.LD_LIBRARY_PATH = ['/usr/lib/chromium', process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
}

export default packageTests({ testTimeout: 300_000 });
