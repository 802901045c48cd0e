/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time per function and per package, so the
 * benchmark can say what dominates a request and what share the HTTP client (got) takes.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Time not idle: what the shares below are of. */
  busyMs: number;
  top: { name: string; where: string; selfMs: number; share: number }[];
  byPackage: { name: string; selfMs: number; share: number }[];
  /** Share of busy time with a got frame anywhere on the stack. */
  gotInclusiveShare: number;
}

/** The package (or layer) a frame belongs to: an npm package, switchboard's own code, or Node. */
function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  if (url.includes('/src/')) return 'switchboard (src/)';
  return url.split('/').slice(-2).join('/');
}

export function summariseProfile(path: string, topN = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const functions = new Map<string, { name: string; where: string; us: number }>();
  const packages = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)!;
    totalUs += us;
    if (callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const where = callFrame.url ? `${callFrame.url.replace(/^file:\/\/.*?\/(node_modules|src)\//, '$1/')}:${callFrame.lineNumber + 1}` : '';
    const key = `${callFrame.functionName}|${where}`;
    const entry = functions.get(key) ?? { name: callFrame.functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const pkg = packageOf(callFrame.url, callFrame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  // Inclusive: a sample counts for got when any frame above it is got's.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const underGot = new Map<number, boolean>();
  const inGot = (id: number | undefined): boolean => {
    if (id === undefined) return false;
    const known = underGot.get(id);
    if (known !== undefined) return known;
    const value = byId.get(id)!.callFrame.url.includes('node_modules/got/') || inGot(parent.get(id));
    underGot.set(id, value);
    return value;
  };
  let gotUs = 0;
  for (const [id, us] of selfUs) if (inGot(id)) gotUs += us;
  const share = (us: number) => Math.round((us / busyUs) * 1000) / 10;
  return {
    gotInclusiveShare: share(gotUs),
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    top: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({ name: f.name, where: f.where, selfMs: Math.round(f.us / 1000), share: share(f.us) })),
    byPackage: [...packages.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), share: share(us) })),
  };
}
