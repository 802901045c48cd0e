/**
 * Imports run one way: src/providers/ → src/calls/. The core never imports a provider, the request
 * context, the resolvers or generated argument types (the contract's generated enum and object
 * types, which name no argument, may stay shared).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const core = path.join(root, 'src/calls');

/** Every `from '…'` / `import('…')` specifier of a file, with the names a generated-types import takes. */
function importsOf(file: string): { specifier: string; names: string[] }[] {
  const source = readFileSync(file, 'utf8');
  const found: { specifier: string; names: string[] }[] = [];
  for (const match of source.matchAll(/import\s+(?:type\s+)?([\s\S]*?)\s+from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|export\s+[\s\S]*?\s+from\s+'([^']+)'/g)) {
    const specifier = (match[2] ?? match[3] ?? match[4]) as string;
    const names = (match[1] ?? '').replace(/[{}]/g, '').split(',').map((n) => n.replace(/^\s*type\s+/, '').trim()).filter(Boolean);
    found.push({ specifier, names });
  }
  return found;
}

const files = readdirSync(core, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
const forbidden = [
  path.join(root, 'src/providers'),
  path.join(root, 'src/context.ts'),
  path.join(root, 'src/resolvers'),
];

describe('src/calls/ imports', () => {
  it('finds the core files', () => {
    expect(files).toEqual(expect.arrayContaining(['adapter.ts', 'merge.ts', 'streams.ts', 'loaders.ts']));
  });

  it.each(files)('%s imports no provider, context or resolver', (file) => {
    const offending = importsOf(path.join(core, file))
      .filter(({ specifier }) => specifier.startsWith('.'))
      .map(({ specifier }) => path.resolve(core, path.dirname(file), specifier).replace(/\.js$/, '.ts'))
      .filter((target) => forbidden.some((f) => target === f || target.startsWith(`${f}${path.sep}`)));
    expect(offending).toEqual([]);
  });

  it.each(files)('%s takes no generated argument or input type', (file) => {
    const generated = importsOf(path.join(core, file)).filter(({ specifier }) => specifier.includes('__generated__'));
    const names = generated.flatMap(({ names }) => names);
    // Argument types are `<Type><Field>Args`; input types are the SDL's `input` names.
    expect(names.filter((name) => /Args$/.test(name) || ['CallFilter', 'InputMaybe'].includes(name))).toEqual([]);
  });
});
