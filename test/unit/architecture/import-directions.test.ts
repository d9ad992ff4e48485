/**
 * The import directions of `src/`, enforced (issue #22 "One house").
 *
 * Reads every `.ts` file under `src/` with the TypeScript compiler's pre-processor (the same
 * scanner `tsc` uses to find a file's imports, so comments and strings never count), resolves each
 * relative specifier to a file, and checks three rules over the resulting graph:
 *
 * 1. No import runs up the layers (README "Architecture"): a folder may import its own files,
 *    folders in a lower layer, and — within one layer — a folder listed as its peer below.
 * 2. No cycle between folders, and no cycle between files.
 * 3. Nothing outside `cli/` imports `sandbox/` (tests may; they are not under `src/`).
 *
 * A failure lists every offending edge as `from -> to`.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { listTsFiles } from './source-files.js';
import { layers } from './layers.js';

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

/** The sandbox is a leaf for the CLI and the tests only: it may import anything below `cli/`. */
const sandboxFolder = 'sandbox';

/**
 * Same-layer imports that are allowed, as `from -> to` folder pairs, each with its reason.
 * Keep this empty unless a real exception remains.
 */
const allowedPeerImports: ReadonlyMap<string, string> = new Map<string, string>([]);

/** Resolves a relative `.js` specifier (NodeNext style) to the `.ts` file it names. */
function resolveSpecifier(fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const target = resolve(dirname(fromFile), specifier);
  for (const candidate of [target.replace(/\.js$/, '.ts'), `${target}.ts`, join(target, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not this candidate
    }
  }
  return undefined;
}

/** Folder of a file relative to `src/`: its first path segment, or its basename for a top-level file. */
function folderOf(file: string): string {
  const rel = relative(srcRoot, file).split(sep);
  return rel.length === 1 ? rel[0]!.replace(/\.ts$/, '') : rel[0]!;
}

function layerOf(folder: string): number {
  if (folder === sandboxFolder) return 0.5;
  const index = layers.findIndex((layer) => layer.includes(folder));
  return index;
}

interface Edge {
  readonly from: string;
  readonly to: string;
}

function buildGraph(): { edges: Edge[]; unresolved: string[] } {
  const edges: Edge[] = [];
  const unresolved: string[] = [];
  for (const file of listTsFiles(srcRoot)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const target = resolveSpecifier(file, ref.fileName);
      if (target === undefined) {
        unresolved.push(`${relative(srcRoot, file)} -> ${ref.fileName}`);
        continue;
      }
      edges.push({ from: relative(srcRoot, file), to: relative(srcRoot, target) });
    }
  }
  return { edges, unresolved };
}

/** Every elementary cycle found by a depth-first search, each reported once as `a -> b -> … -> a`. */
function findCycles(edges: readonly Edge[]): string[] {
  const adjacency = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (from === to) continue;
    const set = adjacency.get(from) ?? new Set<string>();
    set.add(to);
    adjacency.set(from, set);
  }
  // Tarjan's strongly connected components: any component with more than one node is a cycle.
  let index = 0;
  const indices = new Map<string, number>();
  const lowlink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    lowlink.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of adjacency.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        lowlink.set(node, Math.min(lowlink.get(node)!, lowlink.get(next)!));
      } else if (onStack.has(next)) {
        lowlink.set(node, Math.min(lowlink.get(node)!, indices.get(next)!));
      }
    }
    if (lowlink.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const node of adjacency.keys()) if (!indices.has(node)) visit(node);
  // Report the edges inside each component, so the message names what to cut.
  return components.map((component) => {
    const members = new Set(component);
    const inner = edges
      .filter((e) => members.has(e.from) && members.has(e.to) && e.from !== e.to)
      .map((e) => `${e.from} -> ${e.to}`);
    return [...new Set(inner)].sort().join('; ');
  });
}

const { edges, unresolved } = buildGraph();
const folderEdges = edges
  .map((e) => ({ from: folderOf(join(srcRoot, e.from)), to: folderOf(join(srcRoot, e.to)), file: e }))
  .filter((e) => e.from !== e.to);

describe('import directions of src/', () => {
  it('resolves every relative import and every folder has a layer', () => {
    expect(unresolved).toEqual([]);
    const folders = new Set(edges.flatMap((e) => [folderOf(join(srcRoot, e.from)), folderOf(join(srcRoot, e.to))]));
    const unplaced = [...folders].filter((f) => layerOf(f) === -1).sort();
    expect(unplaced).toEqual([]);
  });

  it('has no import running up the layers or sideways within a layer', () => {
    const offending = folderEdges
      .filter((e) => e.to !== sandboxFolder && e.from !== sandboxFolder)
      .filter((e) => layerOf(e.to) <= layerOf(e.from))
      .filter((e) => !allowedPeerImports.has(`${e.from} -> ${e.to}`))
      .map((e) => `${e.file.from} -> ${e.file.to}`);
    expect([...new Set(offending)].sort()).toEqual([]);
  });

  it('lets only cli/ import sandbox/, and the sandbox import nothing from cli/', () => {
    const offending = folderEdges
      .filter((e) => (e.to === sandboxFolder && e.from !== 'cli') || (e.from === sandboxFolder && e.to === 'cli'))
      .map((e) => `${e.file.from} -> ${e.file.to}`);
    expect(offending.sort()).toEqual([]);
  });

  it('has no cycle between folders', () => {
    expect(findCycles(folderEdges.map(({ from, to }) => ({ from, to })))).toEqual([]);
  });

  it('has no cycle between files', () => {
    expect(findCycles(edges)).toEqual([]);
  });
});
