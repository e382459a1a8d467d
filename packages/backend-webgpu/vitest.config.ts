import { existsSync } from 'node:fs';
import { packageTests } from '../../scripts/vitest-package.mjs';

// Debian's `chromium` package ships SwiftShader, a Vulkan driver on the CPU that Dawn accepts (Mesa's
// lavapipe it refuses). Point Dawn at it unless the environment already names a driver. The variables are
// set here, in the main process, so the forked test workers inherit them before Dawn loads.
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const systemLoader = [
    '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
    '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
    '/usr/lib64/libvulkan.so.1',
    '/usr/lib/libvulkan.so.1',
  ].some(existsSync);
  // Without Debian's libvulkan1, use the Vulkan loader chromium ships beside the driver.
  if (!systemLoader && existsSync('/usr/lib/chromium/libvulkan.so.1')) {
    process.env.LD_LIBRARY_PATH = ['/usr/lib/chromium', process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
}

export default packageTests({ testTimeout: 300_000 });
