// Build step (a Vite plugin): copies Debian's Fashion-MNIST IDX files (dataset-fashion-mnist) into
// dist/data/fashion-mnist/ when the build machine has them, with a manifest the page reads, and writes
// ImageNet's class names (from @tessera/data) for ONNX models. Without the data the page offers the file picker and
// the synthetic set, and says so.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FASHION_MNIST_DIR, imagenetClasses } from '@tessera/data';

const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

export function copyData({ dir = process.env.TESSERA_FASHION_MNIST_DIR ?? FASHION_MNIST_DIR } = {}) {
  let outDir = 'dist';
  return {
    name: 'tessera-copy-data',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const data = join(outDir, 'data');
      mkdirSync(data, { recursive: true });
      writeFileSync(join(data, 'imagenet-classes.json'), JSON.stringify(imagenetClasses().map((c) => c.name)));
      const found = FILES.map((f) => [`${f}.gz`, f].find((name) => existsSync(join(dir, name))));
      if (found.some((f) => f === undefined)) {
        console.log(`Fashion-MNIST not found in ${dir}: the app will offer the file picker and the synthetic set`);
        return;
      }
      const target = join(data, 'fashion-mnist');
      mkdirSync(target, { recursive: true });
      for (const f of found) copyFileSync(join(dir, f), join(target, f));
      writeFileSync(join(target, 'manifest.json'), JSON.stringify({ source: dir, files: found }));
      console.log(`Fashion-MNIST copied from ${dir} into ${target}`);
    },
  };
}
