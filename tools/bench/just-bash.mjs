// Time to interactive of ComputeSDK's just-bash provider (an in-process bash
// interpreter), measured as csdk bench tti measures a provider: create,
// run `echo hi`, destroy; TTI is create to the command's result. The same
// statistics: 5% of the successes trimmed at each end, then min, median,
// P95, P99 (linear interpolation) and max.
//
//   npm install --prefix DIR @computesdk/just-bash@0.4.15 just-bash
//   node tools/bench/just-bash.mjs DIR [N] [COMMAND]
import { createRequire } from 'node:module';
import path from 'node:path';

const [dir, nArg, command = 'echo hi'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node just-bash.mjs DIR [N] [COMMAND] (DIR: where @computesdk/just-bash is installed)');
  process.exit(2);
}
const n = Number(nArg || 100);
const require = createRequire(path.resolve(dir, 'package.json'));
const { justBash } = require('@computesdk/just-bash');
const compute = justBash({});

async function iteration() {
  const t0 = process.hrtime.bigint();
  try {
    const sb = await compute.sandbox.create();
    const r = await sb.runCommand(command);
    const tti = Number(process.hrtime.bigint() - t0) / 1e6;
    await sb.destroy();
    return { ok: r.exitCode === 0, tti };
  } catch (e) {
    return { ok: false, tti: Number(process.hrtime.bigint() - t0) / 1e6, error: String(e) };
  }
}

function stats(iters) {
  const v = iters.filter((i) => i.ok).map((i) => i.tti).sort((a, b) => a - b);
  const trim = Math.floor(v.length * 0.05);
  const s = v.slice(trim, v.length - trim);
  const q = (p) => {
    const x = (s.length - 1) * p, lo = Math.floor(x), hi = Math.ceil(x);
    return s[lo] + (s[hi] - s[lo]) * (x - lo);
  };
  return { ok: v.length, n: iters.length, min: s[0], median: q(0.5), p95: q(0.95), p99: q(0.99), max: s[s.length - 1] };
}

const rows = {};
await iteration(); // module and interpreter warm-up, as csdk's first create loads its plugin
const seq = [];
for (let i = 0; i < n; i++) seq.push(await iteration());
rows.sequential = stats(seq);
rows.burst = stats(await Promise.all(Array.from({ length: n }, iteration)));
const f = (x) => (x < 100 ? x.toFixed(2) : x.toFixed(0));
console.log('just-bash (in-process interpreter), TTI in ms:');
for (const [mode, s] of Object.entries(rows))
  console.log(`  ${mode.padEnd(11)} ${s.ok}/${s.n}  min ${f(s.min)}  median ${f(s.median)}  P95 ${f(s.p95)}  P99 ${f(s.p99)}  max ${f(s.max)}`);
console.log(JSON.stringify({ provider: 'just-bash', version: '0.4.15', command, rows }));
