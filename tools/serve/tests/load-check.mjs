// N e2b SDK clients at once against csdk serve, each: create, a streamed
// command, a file round trip, kill. Then clients that leave mid-stream.
// env: E2B_SDK_DIR, SERVE_URL, SERVE_KEY; argv[2]: clients (default 50)
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const { Sandbox } = await import(pathToFileURL(path.join(process.env.E2B_SDK_DIR, 'e2b/dist/index.mjs')).href);
const url = process.env.SERVE_URL;
const opts = { apiKey: process.env.SERVE_KEY, apiUrl: url, sandboxUrl: url, requestTimeoutMs: 120_000 };
const n = Number(process.argv[2] || 50);
const run = `load${process.pid}`;

async function client(i) {
	const sbx = await Sandbox.create({ ...opts, metadata: { load: run }, timeoutMs: 600_000 });
	try {
		const chunks = [];
		const r = await sbx.commands.run(`for j in 1 2 3 4 5; do echo "client ${i} line $j"; sleep 0.05; done`, {
			onStdout: (d) => chunks.push(d) });
		const want = [1, 2, 3, 4, 5].map((j) => `client ${i} line ${j}\n`).join('');
		assert.equal(r.stdout, want);
		assert.equal(chunks.join(''), want);
		const data = `payload of client ${i}\n`.repeat(1000);
		await sbx.files.write(`f${i}.txt`, data);
		assert.equal(await sbx.files.read(`f${i}.txt`), data);
	} finally {
		await sbx.kill();
	}
}

const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => client(i)));
const bad = results.filter((r) => r.status === 'rejected');
for (const r of bad.slice(0, 5)) console.log(`client failed: ${r.reason && r.reason.stack ? r.reason.stack.split('\n').slice(0, 3).join(' | ') : r.reason}`);
console.log(`load: ${n - bad.length}/${n} clients succeeded`);

// Clients that disconnect mid-stream: a raw Start, one frame read, then the connection is dropped.
const sbx = await Sandbox.create({ ...opts, metadata: { load: run } });
const info = await Sandbox.connect(sbx.sandboxId, opts);
const token = info.envdAccessToken ?? sbx.envdAccessToken;
let dropped = 0;
await Promise.all(Array.from({ length: 20 }, async () => {
	const body = Buffer.from(JSON.stringify({ process: { cmd: '/bin/sh', args: ['-c', 'echo start; sleep 30'] } }));
	const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body]);
	frame.writeUInt32BE(body.length, 1);
	const ac = new AbortController();
	const res = await fetch(`${url}/process.Process/Start`, { method: 'POST', signal: ac.signal, body: frame, headers: {
		'content-type': 'application/connect+json', 'connect-protocol-version': '1', 'E2b-Sandbox-Id': sbx.sandboxId,
		'X-Access-Token': token } });
	const reader = res.body.getReader();
	await reader.read();
	ac.abort();
	dropped++;
}));
console.log(`load: ${dropped} streams dropped by their clients`);
const r = await sbx.commands.run('echo healthy');
assert.equal(r.stdout, 'healthy\n');
await sbx.kill();
const left = [];
const pager = Sandbox.list({ ...opts, query: { metadata: { load: run } } });
while (pager.hasNext) left.push(...await pager.nextItems());
console.log(`load: ${left.length} sandboxes left`);
process.exit(bad.length || left.length || dropped !== 20 ? 1 : 0);
