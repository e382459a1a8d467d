/**
 * Stands in for vitest in the browser bundle: @tessera/tensor/testing's `describeConformance` registers vitest
 * suites, which the page never calls (src/engine/conformance.ts runs the kit's cases itself). Calling these says so.
 */
const unavailable = (name: string) => () => {
  throw new Error(`vitest's ${name} is not available in the page; run the conformance checks through the Check panel`);
};
export const describe = unavailable('describe');
export const it = unavailable('it');
export const beforeAll = unavailable('beforeAll');
