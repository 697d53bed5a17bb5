/**
 * Architecture rules from STYLE.md, checked on the source tree: no import cycles among the .ts
 * files of engine/, runner/ and workflows/ (runtime imports: `import type` is erased, so a cycle
 * of types alone loads fine); the engine never owns the process (no process.env / process.exit /
 * signal handlers); dependencies point one way (engine never imports runner/, workflows/ or
 * test/, not even types); the dashboard talks to the engine only through its one door,
 * engine/index.ts, and owns no process either. Files are parsed with the TypeScript compiler, so comments and strings
 * never match.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = resolve(__dirname, '..', '..');
const SCANNED = ['engine', 'runner', 'workflows', 'testing', 'dashboard'];

function listTs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return name === 'node_modules' ? [] : listTs(full);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [full] : [];
  });
}

interface FileFacts {
  /** Relative specifiers of import/export-from/require()/import() in source order. */
  specifiers: string[];
  /** The subset that survives compilation (not `import type` / `export type`). */
  runtime: string[];
  /** `process.<name>` uses, as `process.env` etc., with their line numbers. */
  processUses: { what: string; line: number }[];
}

const PROCESS_MEMBERS = new Set(['env', 'exit', 'on', 'once', 'addListener', 'prependListener', 'prependOnceListener']);

/** Parse one file: its relative module specifiers and its uses of the process object. */
function scan(fileName: string, text: string): FileFacts {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const specifiers: string[] = [];
  const runtime: string[] = [];
  const processUses: FileFacts['processUses'] = [];
  const literal = (n: ts.Node | undefined) => (n && ts.isStringLiteralLike(n) ? n.text : undefined);
  const visit = (node: ts.Node): void => {
    let spec: string | undefined;
    let typeOnly = false;
    if (ts.isImportDeclaration(node)) {
      spec = literal(node.moduleSpecifier);
      typeOnly = isTypeOnlyImport(node);
    } else if (ts.isExportDeclaration(node)) {
      spec = literal(node.moduleSpecifier);
      typeOnly = node.isTypeOnly || (!!node.exportClause && ts.isNamedExports(node.exportClause) &&
        node.exportClause.elements.length > 0 && node.exportClause.elements.every((e) => e.isTypeOnly));
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      spec = literal(node.moduleReference.expression);
      typeOnly = node.isTypeOnly;
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (isRequire || callee.kind === ts.SyntaxKind.ImportKeyword) spec = literal(node.arguments[0]);
    }
    if (spec !== undefined && spec.startsWith('.')) {
      specifiers.push(spec);
      if (!typeOnly) runtime.push(spec);
    }

    const member = ts.isPropertyAccessExpression(node) ? node.name.text
      : ts.isElementAccessExpression(node) ? literal(node.argumentExpression) : undefined;
    const target = ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node) ? node.expression : undefined;
    if (member && target && ts.isIdentifier(target) && target.text === 'process' && PROCESS_MEMBERS.has(member)) {
      processUses.push({ what: `process.${member}`, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { specifiers, runtime, processUses };
}

/** `import type …` or `import { type A, type B } …`: erased by every compiler we use. */
function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import './x'` runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return !!bindings && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

/** Resolve a relative specifier the way tsx/ts-jest do; null when no file matches. */
function resolveSpecifier(fromFile: string, spec: string): string | null {
  const base = resolve(dirname(fromFile), spec);
  const stem = base.replace(/\.(js|ts)$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.tsx`, join(base, 'index.ts'), `${base}.json`];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? null;
}

type Graph = Map<string, string[]>;

/** Every elementary cycle reachable by a DFS back edge, each as [a, b, …, a]. */
function findCycles(graph: Graph): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const dfs = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) dfs(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) dfs(node);
  return cycles;
}

const rel = (f: string) => relative(root, f).split(sep).join('/');
const files = SCANNED.flatMap((d) => listTs(join(root, d))).sort();
const facts = new Map(files.map((f) => [f, scan(f, readFileSync(f, 'utf8'))]));

describe('the checker itself', () => {
  it('finds import/export-from/require/import() specifiers and ignores comments and strings', () => {
    const text = [
      "import { a } from './a';", "import type { B } from '../b';", "export * from './c';",
      "export { d } from './d.js';", "const e = require('./e');", "const f = import('./f');",
      "import pino from 'pino';", "// import { x } from './commented';", "/* require('./blocked') */",
      "const s = \"import { y } from './in-a-string'\";",
    ].join('\n');
    expect(scan('x.ts', text).specifiers).toEqual(['./a', '../b', './c', './d.js', './e', './f']);
  });

  it('tells type-only imports (erased at compile time) from runtime ones', () => {
    const text = [
      "import type { A } from './a';", "import { type B, type C } from './b';", "import { type D, e } from './d';",
      "import f, { type G } from './f';", "export type { H } from './h';", "export { type I, j } from './i';",
      "import './side-effect';",
    ].join('\n');
    expect(scan('x.ts', text).runtime).toEqual(['./d', './f', './i', './side-effect']);
  });

  it('sees process.env, process.exit and process.on in code, not in comments', () => {
    const text = "// process.env.X\nconst a = process.env.A;\nprocess.exit(1);\nprocess.on('SIGTERM', f);\nprocess['env'];\nconst s = 'process.exit';";
    expect(scan('x.ts', text).processUses).toEqual([
      { what: 'process.env', line: 2 }, { what: 'process.exit', line: 3 }, { what: 'process.on', line: 4 }, { what: 'process.env', line: 5 },
    ]);
  });

  it('reports a cycle with its path', () => {
    const g: Graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a', 'd']], ['d', []]]);
    expect(findCycles(g)).toEqual([['a', 'b', 'c', 'a']]);
    expect(findCycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  });
});

describe('architecture', () => {
  it('scans the engine', () => {
    // Guards against a path mistake that would make every rule below pass vacuously.
    expect(files.map(rel)).toEqual(expect.arrayContaining(['engine/store/database.ts', 'engine/errors.ts']));
  });

  it('every relative import resolves to a file', () => {
    const broken = files.flatMap((f) => facts.get(f)!.specifiers
      .filter((s) => resolveSpecifier(f, s) === null).map((s) => `${rel(f)} → ${s}`));
    expect(broken).toEqual([]);
  });

  it('has no import cycles in engine/, runner/ and workflows/', () => {
    const graph: Graph = new Map(files.map((f) => [f, facts.get(f)!.runtime
      .map((s) => resolveSpecifier(f, s)).filter((t): t is string => t !== null && facts.has(t))]));
    const cycles = findCycles(graph).map((c) => c.map(rel).join(' → '));
    expect(cycles).toEqual([]);
  });

  it('the engine never owns the process: no process.env, process.exit or process.on in engine/', () => {
    const uses = files.filter((f) => rel(f).startsWith('engine/'))
      .flatMap((f) => facts.get(f)!.processUses.map((u) => `${rel(f)}:${u.line} ${u.what}`));
    expect(uses).toEqual([]);
  });

  it('the store is the bottom layer: engine/store/ imports nothing from the engine rooms above it', () => {
    const wrong = files.filter((f) => rel(f).startsWith('engine/store/')).flatMap((f) => facts.get(f)!.specifiers
      .map((s) => ({ s, target: rel(resolveSpecifier(f, s) ?? resolve(dirname(f), s)) }))
      .filter(({ target }) => /^engine\/(client|runner|schedules|workflow|locks)\//.test(target))
      .map(({ s }) => `${rel(f)} → ${s}`));
    expect(wrong).toEqual([]);
  });

  it('schedule decisions are pure: engine/schedules/spec.ts and plan.ts import no store, client or runner module', () => {
    const pure = files.filter((f) => ['engine/schedules/spec.ts', 'engine/schedules/plan.ts'].includes(rel(f)));
    expect(pure).toHaveLength(2);
    const wrong = pure.flatMap((f) => facts.get(f)!.specifiers
      .map((s) => ({ s, target: rel(resolveSpecifier(f, s) ?? resolve(dirname(f), s)) }))
      .filter(({ target }) => /^engine\/(store|client|runner)\//.test(target))
      .map(({ s }) => `${rel(f)} → ${s}`));
    expect(wrong).toEqual([]);
  });

  it('dependencies point one way: engine/ imports nothing from runner/, workflows/, dashboard/ or test/', () => {
    const wrong = files.filter((f) => rel(f).startsWith('engine/')).flatMap((f) => facts.get(f)!.specifiers
      .map((s) => ({ s, target: resolveSpecifier(f, s) ?? resolve(dirname(f), s) }))
      .filter(({ target }) => /^(runner|workflows|dashboard|test)(\/|$)/.test(rel(target)))
      .map(({ s }) => `${rel(f)} → ${s}`));
    expect(wrong).toEqual([]);
  });

  it('the dashboard reaches the engine only through engine/index.ts, and nothing but runner/ imports it', () => {
    expect(files.map(rel)).toEqual(expect.arrayContaining(['dashboard/server.ts']));
    const wrong = files.filter((f) => rel(f).startsWith('dashboard/')).flatMap((f) => facts.get(f)!.specifiers
      .map((s) => ({ s, target: rel(resolveSpecifier(f, s) ?? resolve(dirname(f), s)) }))
      .filter(({ target }) => !target.startsWith('dashboard/') && target !== 'engine/index.ts')
      .map(({ s }) => `${rel(f)} → ${s}`));
    expect(wrong).toEqual([]);
    const importers = files.filter((f) => !/^(dashboard|runner)\//.test(rel(f))).flatMap((f) => facts.get(f)!.specifiers
      .filter((s) => rel(resolveSpecifier(f, s) ?? resolve(dirname(f), s)).startsWith('dashboard/')).map((s) => `${rel(f)} → ${s}`));
    expect(importers).toEqual([]);
  });

  it('the dashboard owns no process: no process.env, process.exit or process.on in dashboard/', () => {
    const uses = files.filter((f) => rel(f).startsWith('dashboard/'))
      .flatMap((f) => facts.get(f)!.processUses.map((u) => `${rel(f)}:${u.line} ${u.what}`));
    expect(uses).toEqual([]);
  });
});

describe('cluster tooling (scripts/cluster/)', () => {
  const clusterFiles = listTs(join(root, 'scripts', 'cluster'));

  it('stands alone: imports nothing outside scripts/cluster/ (it runs without the engine)', () => {
    expect(clusterFiles.length).toBeGreaterThan(3);
    const outside = clusterFiles.flatMap((f) => scan(f, readFileSync(f, 'utf8')).specifiers
      .map((s) => resolveSpecifier(f, s) ?? `${rel(f)} → ${s} (unresolved)`)
      .filter((target) => !rel(target).startsWith('scripts/cluster/'))
      .map((target) => `${rel(f)} → ${rel(target)}`));
    expect(outside).toEqual([]);
  });

  it('is never imported by the library, the runner or the workflows', () => {
    const users = files.filter((f) => facts.get(f)!.specifiers.some((s) => rel(resolveSpecifier(f, s) ?? '').startsWith('scripts/')));
    expect(users.map(rel)).toEqual([]);
  });
});
