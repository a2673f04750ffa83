// Time to interactive through csdk serve with the e2b SDK: Sandbox.create,
// commands.run(CMD), kill, N times in sequence; statistics as csdk bench
// tti computes them (fastest and slowest 5% dropped).
// env: E2B_SDK_DIR, SERVE_URL, SERVE_KEY; argv: N (default 30), CMD (default 'node -v')
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const { Sandbox } = await import(pathToFileURL(path.join(process.env.E2B_SDK_DIR, 'e2b/dist/index.mjs')).href);
const url = process.env.SERVE_URL;
const opts = { apiKey: process.env.SERVE_KEY, apiUrl: url, sandboxUrl: url };
const n = Number(process.argv[2] || 30), cmd = process.argv[3] || 'node -v';
const samples = [];
let failures = 0;
for (let i = 0; i < n; i++) {
	const t0 = process.hrtime.bigint();
	try {
		const sbx = await Sandbox.create(opts);
		await sbx.commands.run(cmd);
		await sbx.kill();
		samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
	} catch (e) {
		failures++;
	}
}
samples.sort((a, b) => a - b);
const cut = Math.floor(samples.length * 0.05), kept = samples.slice(cut, samples.length - cut);
const q = (p) => {
	const x = (kept.length - 1) * p, lo = Math.floor(x), hi = Math.ceil(x);
	return kept[lo] + (kept[hi] - kept[lo]) * (x - lo);
};
console.log(JSON.stringify({ what: 'e2b SDK through csdk serve', iterations: n, failures,
	min_ms: +kept[0].toFixed(1), median_ms: +q(0.5).toFixed(1), p95_ms: +q(0.95).toFixed(1), p99_ms: +q(0.99).toFixed(1),
	max_ms: +kept[kept.length - 1].toFixed(1) }));
