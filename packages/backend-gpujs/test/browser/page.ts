// Bundles test/browser/entry.ts for the browser (esbuild; vitest replaced by the stand-in) and serves it on
// a local port, for browser.test.ts and for running the page by hand.
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const CHROMIUM = process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium';
// WebGL2 runs on SwiftShader with Chromium's default flags; --enable-unsafe-swiftshader keeps it allowed.
export const FLAGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-swiftshader',
];

export async function bundleEntry(): Promise<string> {
  const shim = fileURLToPath(new URL('./vitest-shim.ts', import.meta.url));
  const out = await build({
    entryPoints: [fileURLToPath(new URL('./entry.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
    plugins: [
      {
        name: 'vitest-shim',
        setup(b) {
          b.onResolve({ filter: /^vitest$/ }, () => ({ path: shim }));
        },
      },
    ],
  });
  return out.outputFiles[0]!.text;
}

export async function serve(bundle: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/bundle.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(bundle);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><meta charset="utf-8"><script type="module" src="/bundle.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return { server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/` };
}
