/**
 * The documentation and the code name the same things. Every error code and environment variable
 * named in README.md and docs/*.md exists in the code; every `ErrorCode` is in the table of
 * docs/operations.md "Errors clients see", and every variable the configuration reads is documented.
 * A backticked ALL-CAPS word in the docs must be something the code knows (an error code, a
 * variable, an upstream failure kind, a schema enum value or type), so a code or variable that was
 * renamed or never existed is caught wherever it is mentioned.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { isEnumType } from 'graphql';
import { KNOWN_VARIABLES, OTHER_TOOLS_VARIABLES } from '../../src/config.js';
import { ErrorCode, UPSTREAM_FAILURES, WarningCode } from '../../src/errors.js';
import { WATCH_FAILURES } from '../../src/live/watcher.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import { createSchema } from '../../src/schema.js';

const ROOT = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');
const DOCS = ['README.md', ...readdirSync(new URL('docs/', ROOT)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const docs = Object.fromEntries(DOCS.map((path) => [path, read(path)]));
const all = Object.values(docs).join('\n');

/** The docs' own examples of a misspelt variable that start-up refuses: they must stay unknown. */
const TYPO_EXAMPLES = ['SWITCHBOARD_API_KEY', 'UNPOD_BASEURL'];
/** Variables of the benchmark (bench/*.ts reads them; not the server's configuration). */
const BENCH_VARIABLES = readdirSync(new URL('bench/', ROOT))
  .filter((f) => f.endsWith('.ts'))
  .flatMap((f) => [...read(`bench/${f}`).matchAll(/process\.env\.(BENCH_[A-Z0-9_]+)/g)].map((m) => m[1]!));
const VARIABLES = new Set([...KNOWN_VARIABLES, ...OTHER_TOOLS_VARIABLES, ...BENCH_VARIABLES]);
const CODES = new Set<string>(Object.values(ErrorCode));
/** OpenTelemetry's standard variables (OTEL_*): the SDK's, documented in the Tracing section, not Switchboard's configuration. */
const isOpenTelemetryVariable = (word: string) => word.startsWith('OTEL_');
/** Other capitals the docs quote as they are: the shell's PATH, the text url.full shows for a redacted value, a named constant. */
const OTHER_WORDS = ['PATH', 'REDACTED', 'MAX_UNREADABLE_RUN', 'PROVIDER_MODULES'];
/** Node's own error codes, which a log line's `cause` carries (docs/operations.md shows some). */
const NODE_ERROR_CODES = ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT'];

/** A word under a variable prefix: ours, the benchmark's, and each provider module's (its enum value). */
const VARIABLE_WORD = new RegExp(`\\b(?:${['SWITCHBOARD', 'BENCH', ...PROVIDER_MODULES.map((m) => m.provider)].join('|')})_[A-Z0-9_]*[A-Z0-9]\\b`, 'g');

/** Variables named in `markdown`: any word under a variable prefix, and the first column of settings tables. */
function variablesIn(markdown: string): Set<string> {
  const named = new Set([...markdown.matchAll(VARIABLE_WORD)].map((m) => m[0]));
  let settingsTable = false;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      settingsTable = false;
      continue;
    }
    const first = line.split('|')[1]!.trim();
    if (/^(setting|variable)/.test(first)) settingsTable = true;
    const variable = /^`([A-Z][A-Z0-9_]*)`$/.exec(first)?.[1];
    if (settingsTable && variable) named.add(variable);
  }
  return named;
}

/** The codes in the first column of the "Errors clients see" table of docs/operations.md. */
function documentedCodes(): string[] {
  const section = docs['docs/operations.md']!.split('## Errors clients see')[1]!.split('\n## ')[0]!;
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => /^\| `([A-Z_]+)`/.exec(line)![1]!);
}

describe('environment variables', () => {
  test('every variable the docs name is one the code reads (or a refused typo shown as such)', () => {
    const named = variablesIn(all);
    expect(named.size).toBeGreaterThan(40); // the check is not vacuous
    const unknown = [...named].filter((name) => !VARIABLES.has(name) && !TYPO_EXAMPLES.includes(name) && !isOpenTelemetryVariable(name)).sort();
    expect(unknown).toEqual([]);
    for (const typo of TYPO_EXAMPLES) {
      expect(named.has(typo)).toBe(true);
      expect(VARIABLES.has(typo)).toBe(false);
    }
  });

  test('every variable the configuration reads, or lets through for other tools, is documented', () => {
    const named = variablesIn(all);
    expect([...KNOWN_VARIABLES, ...OTHER_TOOLS_VARIABLES].filter((name) => !named.has(name)).sort()).toEqual([]);
  });
});

describe('error codes', () => {
  test('the table of docs/operations.md lists each ErrorCode once, and nothing else', () => {
    const listed = documentedCodes();
    expect(listed.filter((code, i) => listed.indexOf(code) !== i)).toEqual([]);
    // The section's warnings table (`extensions.warnings`, not errors) is checked apart.
    const warnings: string[] = Object.values(WarningCode);
    expect([...listed].filter((code) => !warnings.includes(code)).sort()).toEqual([...CODES].sort());
    expect(warnings.filter((code) => !listed.includes(code))).toEqual([]);
  });

  test('every backticked ALL-CAPS word in the docs is a code, a variable, a failure kind or a schema name', () => {
    const schema = createSchema();
    const schemaNames = new Set<string>();
    for (const type of Object.values(schema.getTypeMap())) {
      schemaNames.add(type.name);
      if (isEnumType(type)) for (const value of type.getValues()) schemaNames.add(value.name);
    }
    const known = (word: string) =>
      CODES.has(word) ||
      VARIABLES.has(word) ||
      TYPO_EXAMPLES.includes(word) ||
      (UPSTREAM_FAILURES as string[]).includes(word) ||
      (WATCH_FAILURES as readonly string[]).includes(word) ||
      (Object.values(WarningCode) as string[]).includes(word) ||
      isOpenTelemetryVariable(word) ||
      OTHER_WORDS.includes(word) ||
      NODE_ERROR_CODES.includes(word) ||
      schemaNames.has(word);
    const unknown = DOCS.flatMap((path) =>
      [...docs[path]!.matchAll(/`([A-Z][A-Z0-9_]{3,})`/g)]
        .map((m) => m[1]!)
        .filter((word) => !word.endsWith('_') && !known(word))
        .map((word) => `${path}: ${word}`),
    );
    expect([...new Set(unknown)]).toEqual([]);
  });
});
