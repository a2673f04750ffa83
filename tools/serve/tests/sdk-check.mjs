// The official e2b SDK against `csdk serve`: apiUrl and sandboxUrl both point at it.
// env: E2B_SDK_DIR, SERVE_URL, SERVE_KEY, OTHER_KEY; argv[2]: the phase
//   main                 the whole suite
//   restart-before FILE  create a sandbox, write a file in it, save its id in FILE
//   restart-after FILE   after the server restarted: reach it again, read the file, kill it
//   foreign ID           a sandbox made by `csdk create`: listed, connected, used
import path from 'node:path';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const sdk = await import(pathToFileURL(path.join(process.env.E2B_SDK_DIR, 'e2b/dist/index.mjs')).href);
const { Sandbox, CommandExitError, NotFoundError, AuthenticationError, SandboxError } = sdk;
const url = process.env.SERVE_URL;
const opts = { apiKey: process.env.SERVE_KEY, apiUrl: url, sandboxUrl: url };
const other = { apiKey: process.env.OTHER_KEY, apiUrl: url, sandboxUrl: url };
const run = `r${process.pid}`;

let failed = 0, passed = 0;
async function check(name, fn) {
	try {
		await fn();
		passed++;
		console.log(`ok - ${name}`);
	} catch (e) {
		failed++;
		console.log(`not ok - ${name}: ${e && e.stack ? e.stack.split('\n').slice(0, 4).join(' | ') : e}`);
	}
}
async function rejects(p, cls, test) {
	try {
		await p;
	} catch (e) {
		assert.ok(e instanceof cls, `expected ${cls.name}, got ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
		if (test) test(e);
		return;
	}
	assert.fail(`expected ${cls.name}, nothing thrown`);
}
async function raw(method, p, { body, key = opts.apiKey, headers = {} } = {}) {
	const h = { ...headers };
	if (key !== null) h['X-API-KEY'] = key;
	if (body !== undefined && !h['content-type']) h['content-type'] = 'application/json';
	const res = await fetch(url + p, { method, headers: h, body });
	const text = await res.text();
	let json;
	try { json = JSON.parse(text); } catch { json = undefined; }
	return { status: res.status, json, text, headers: res.headers };
}
async function ids(query, o = opts) {
	const out = [];
	const pager = Sandbox.list({ ...o, query });
	while (pager.hasNext)
		for (const s of await pager.nextItems()) out.push(s.sandboxId);
	return out.sort();
}
// Bounded wait for a condition (no timing is asserted: only that it happens).
async function eventually(what, fn, seconds = 60) {
	for (let i = 0; i < seconds * 10; i++) {
		if (await fn()) return;
		await new Promise((r) => setTimeout(r, 100));
	}
	assert.fail(`${what} did not happen within ${seconds} s`);
}

const phase = process.argv[2] || 'main';

if (phase === 'restart-before') {
	const sbx = await Sandbox.create({ ...opts, metadata: { restart: run }, timeoutMs: 600_000 });
	await sbx.files.write('kept.txt', 'still here\n');
	fs.writeFileSync(process.argv[3], sbx.sandboxId);
	console.log(`ok - created ${sbx.sandboxId} before the restart`);
	process.exit(0);
}
if (phase === 'restart-after') {
	const id = fs.readFileSync(process.argv[3], 'utf8');
	await check('a sandbox outlives a restart of the server', async () => {
		assert.deepEqual(await ids(undefined), [id]);
		const sbx = await Sandbox.connect(id, opts);
		assert.equal(await sbx.files.read('kept.txt'), 'still here\n');
		assert.equal((await sbx.commands.run('echo again')).stdout, 'again\n');
		assert.equal(await sbx.kill(), true);
		assert.deepEqual(await ids(undefined), []);
	});
	process.exit(failed ? 1 : 0);
}
if (phase === 'graceful') {
	// A stream in progress when the server gets SIGTERM finishes within the grace period.
	const sbx = await Sandbox.create({ ...opts, metadata: { graceful: run } });
	fs.writeFileSync(process.argv[3], sbx.sandboxId);
	let said = '';
	const r = await sbx.commands.run('echo started; sleep 2; echo finished', { onStdout: (d) => {
		said += d;
		if (said.startsWith('started')) fs.writeFileSync(`${process.argv[3]}.started`, 'yes');
	} });
	assert.equal(r.stdout, 'started\nfinished\n');
	console.log('ok - a stream in progress finished after SIGTERM');
	process.exit(0);
}
if (phase === 'foreign') {
	const id = process.argv[3];
	await check('a sandbox made by csdk create is listed and usable', async () => {
		assert.ok((await ids(undefined)).includes(id), `${id} not listed`);
		assert.ok(!(await ids(undefined, other)).includes(id), `${id} listed for the other tenant`);
		const sbx = await Sandbox.connect(id, opts);
		assert.equal((await sbx.commands.run('echo foreign')).stdout, 'foreign\n');
		await rejects(Sandbox.connect(id, other), NotFoundError);
	});
	process.exit(failed ? 1 : 0);
}

const sbx = await Sandbox.create({ ...opts, metadata: { suite: 'serve', run, 'odd key': 'a&b=c %d' }, timeoutMs: 300_000 });

await check('create answers an id, and csdk list sees it', async () => {
	assert.match(sbx.sandboxId, /^[A-Za-z0-9]/);
	const info = await sbx.getInfo();
	assert.equal(info.sandboxId, sbx.sandboxId);
	assert.equal(info.templateId, 'base');
	assert.deepEqual(info.metadata, { suite: 'serve', run, 'odd key': 'a&b=c %d' });
	assert.equal(info.state, 'running');
	assert.equal(info.endAt.getTime() - info.startedAt.getTime(), 300_000);
});

await check('commands.run streams stdout and stderr through the server', async () => {
	const out = [], err = [];
	const r = await sbx.commands.run('echo hello; echo oops >&2; sleep 0.2; printf tail', {
		onStdout: (d) => out.push(d), onStderr: (d) => err.push(d) });
	assert.equal(r.exitCode, 0);
	assert.equal(r.stdout, 'hello\ntail');
	assert.equal(r.stderr, 'oops\n');
	assert.equal(out.join(''), 'hello\ntail');
	assert.equal(err.join(''), 'oops\n');
});

await check('a failing command is a CommandExitError with its exit code', async () => {
	await rejects(sbx.commands.run('echo partial; exit 3'), CommandExitError, (e) => {
		assert.equal(e.exitCode, 3);
		assert.equal(e.stdout, 'partial\n');
	});
});

await check('envs, background commands, kill', async () => {
	assert.equal((await sbx.commands.run('echo "$FOO"', { envs: { FOO: 'b a r' } })).stdout, 'b a r\n');
	const h = await sbx.commands.run('sleep 60', { background: true });
	assert.ok((await sbx.commands.list()).some((p) => p.pid === h.pid));
	assert.equal(await sbx.commands.kill(h.pid), true);
	const r = await h.wait().catch((e) => e);
	assert.equal(r.error, 'signal: killed');
});

await check('files: text and binary round trips, list, exists, remove', async () => {
	await sbx.files.write('dir/a.txt', 'hello file\n');
	assert.equal(await sbx.files.read('dir/a.txt'), 'hello file\n');
	const bin = new Uint8Array(300_000);
	for (let i = 0; i < bin.length; i++) bin[i] = (i * 7 + 3) & 0xff;
	await sbx.files.write('dir/b.bin', bin.buffer);
	const back = await sbx.files.read('dir/b.bin', { format: 'bytes' });
	assert.equal(Buffer.compare(Buffer.from(back), Buffer.from(bin)), 0);
	assert.deepEqual((await sbx.files.list('dir')).map((e) => e.name).sort(), ['a.txt', 'b.bin']);
	assert.equal(await sbx.files.exists('dir/a.txt'), true);
	await sbx.files.remove('dir');
	assert.equal(await sbx.files.exists('dir/a.txt'), false);
	await rejects(sbx.files.read('dir/a.txt'), sdk.FileNotFoundError ?? NotFoundError);
});

await check('list filters by metadata and pages with limit and nextToken', async () => {
	const more = await Promise.all([1, 2, 3].map(() => Sandbox.create({ ...opts, metadata: { page: run }, timeoutMs: 120_000 })));
	try {
		assert.deepEqual(await ids({ metadata: { run } }), [sbx.sandboxId]);
		assert.deepEqual(await ids({ metadata: { 'odd key': 'a&b=c %d' } }), [sbx.sandboxId]);
		assert.deepEqual(await ids({ metadata: { run, suite: 'other' } }), []);
		const pager = Sandbox.list({ ...opts, query: { metadata: { page: run } }, limit: 2 });
		const first = await pager.nextItems();
		assert.equal(first.length, 2);
		assert.equal(pager.hasNext, true);
		const second = await pager.nextItems();
		assert.equal(second.length, 1);
		assert.equal(pager.hasNext, false);
		assert.deepEqual([...first, ...second].map((s) => s.sandboxId).sort(), more.map((s) => s.sandboxId).sort());
		assert.deepEqual(await ids({ metadata: { page: run }, state: ['paused'] }), []);
	} finally {
		for (const s of more) await s.kill();
	}
	assert.deepEqual(await ids({ metadata: { page: run } }), []);
});

await check('setTimeout moves the end of the lifetime', async () => {
	await sbx.setTimeout(600_000);
	const info = await sbx.getInfo();
	const left = info.endAt.getTime() - Date.now();
	assert.ok(left > 590_000 && left <= 600_000, `endAt is ${left} ms away`);
});

await check('another client connects to the sandbox by id', async () => {
	const again = await Sandbox.connect(sbx.sandboxId, opts);
	assert.equal((await again.commands.run('echo connected')).stdout, 'connected\n');
});

await check('other tenants do not see the sandbox', async () => {
	assert.deepEqual(await ids({ metadata: { run } }, other), []);
	await rejects(Sandbox.getInfo(sbx.sandboxId, other), NotFoundError);
	await rejects(Sandbox.connect(sbx.sandboxId, other), NotFoundError);
	assert.equal(await Sandbox.kill(sbx.sandboxId, other), false);
	await rejects(Sandbox.setTimeout(sbx.sandboxId, 1000, other), NotFoundError);
	assert.equal((await sbx.commands.run('echo still')).stdout, 'still\n');
});

await check('a wrong API key is refused', async () => {
	const bad = { ...opts, apiKey: 'wrong-key-0123456789' };
	await rejects(Sandbox.create(bad), AuthenticationError);
	await rejects(Sandbox.list(bad).nextItems(), AuthenticationError);
	const r = await raw('GET', '/v2/sandboxes', { key: null });
	assert.equal(r.status, 401);
	assert.deepEqual(r.json, { code: 401, message: 'missing API key; send it in the X-API-KEY header' });
});

await check('envd requests need the sandbox\'s own access token', async () => {
	const r = await raw('GET', '/files?path=x', { key: null, headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'X-Access-Token': 'nope' } });
	assert.equal(r.status, 401);
	const r2 = await raw('POST', '/filesystem.Filesystem/Stat', { key: null, body: '{"path":"."}',
		headers: { 'E2b-Sandbox-Id': sbx.sandboxId } });
	assert.equal(r2.status, 401);
	assert.equal(r2.json.code, 'unauthenticated');
	const r3 = await raw('GET', '/health', { key: null, headers: { 'E2b-Sandbox-Id': 'no-such-sandbox' } });
	assert.equal(r3.status, 502);
});

await check('the Host form PORT-ID.DOMAIN reaches the sandbox too', async () => {
	const http = await import('node:http');
	const u = new URL(url);
	const get = (host, p, headers = {}) => new Promise((resolve, reject) => {
		const req = http.request({ host: u.hostname, port: u.port, path: p, headers: { Host: host, ...headers } }, (res) => {
			let body = '';
			res.on('data', (d) => { body += d; });
			res.on('end', () => resolve({ status: res.statusCode, body }));
		});
		req.on('error', reject);
		req.end();
	});
	await sbx.files.write('host-form.txt', 'via host\n');
	const token = (await Sandbox.connect(sbx.sandboxId, opts)).envdAccessToken ?? sbx.envdAccessToken;
	let r = await get(`49983-${sbx.sandboxId}.sandbox.test`, '/files?path=host-form.txt', { 'X-Access-Token': token });
	assert.deepEqual(r, { status: 200, body: 'via host\n' });
	r = await get(`49983-${sbx.sandboxId}.sandbox.test`, '/files?path=host-form.txt');
	assert.equal(r.status, 401);
});

await check('an unknown template, pause and bad bodies get clear errors', async () => {
	await rejects(Sandbox.create('no-such-template', opts), SandboxError, (e) => assert.match(e.message, /template 'no-such-template' not found/));
	await rejects(sbx.pause(), SandboxError, (e) => assert.match(e.message, /not supported/));
	let r = await raw('POST', '/v2/sandboxes', { body: '{"templateID":' });
	assert.equal(r.status, 400);
	assert.match(r.json.message, /^malformed JSON body/);
	r = await raw('POST', '/v2/sandboxes', { body: '[1]' });
	assert.deepEqual(r.json, { code: 400, message: 'the body must be a JSON object' });
	r = await raw('POST', '/v2/sandboxes', { body: '{"templateID":"base","timeout":-5}' });
	assert.deepEqual(r.json, { code: 400, message: 'timeout -5 is out of range; give 1 to 86400 seconds' });
	r = await raw('POST', '/v2/sandboxes', { body: '{"templateID":"base","timeout":99999999999}' });
	assert.equal(r.status, 400);
	r = await raw('POST', '/v2/sandboxes', { body: '{"templateID":"base","timeout":1.5}' });
	assert.deepEqual(r.json, { code: 400, message: 'timeout must be a whole number of seconds' });
	r = await raw('POST', '/v2/sandboxes', { body: '{"templateID":"base","metadata":{"a":1}}' });
	assert.deepEqual(r.json, { code: 400, message: "metadata['a'] must be a string" });
	r = await raw('POST', '/v2/sandboxes', { body: '{"templateID":"base","envVars":{"A B":"x"}}' });
	assert.equal(r.status, 400);
	r = await raw('POST', '/v2/sandboxes', { body: 'x'.repeat(2 * 1024 * 1024) });
	assert.equal(r.status, 413);
	r = await raw('POST', `/sandboxes/${sbx.sandboxId}/timeout`, { body: '{"timeout":0}' });
	assert.equal(r.status, 400);
	r = await raw('GET', '/v2/sandboxes?limit=0');
	assert.equal(r.status, 400);
	r = await raw('GET', '/v2/sandboxes?limit=abc');
	assert.equal(r.status, 400);
});

await check('ids with path tricks are refused', async () => {
	for (const id of ['..', '..%2F..%2Fetc', '%2e%2e', 'a%00b', 'a%2Fb', '-x', 'a..b', '%ZZ']) {
		const r = await raw('GET', `/sandboxes/${id}`);
		assert.ok(r.status === 400 || r.status === 404, `GET /sandboxes/${id}: ${r.status}`);
		assert.equal(typeof r.json.message, 'string');
	}
	const r = await raw('GET', '/sandboxes/no-such-sandbox');
	assert.deepEqual(r.json, { code: 404, message: "sandbox 'no-such-sandbox' not found" });
	const r2 = await raw('GET', '/health', { key: null, headers: { 'E2b-Sandbox-Id': '../../x' } });
	assert.equal(r2.status, 400);
});

if (process.env.SERVE_SNAPSHOTS === 'yes') {
	await check('snapshots: create, list by name, a sandbox from one, the tenant\'s own, delete', async () => {
		await sbx.files.write('snapshot.txt', 'kept\n');
		const name = `s${process.pid}`;
		const snap = await sbx.createSnapshot({ name });
		assert.deepEqual(snap.names, [`default/${name}`]);
		const listed = async (o, query) => {
			const out = [];
			const pager = Sandbox.listSnapshots({ ...o, ...query });
			while (pager.hasNext) out.push(...await pager.nextItems());
			return out;
		};
		assert.deepEqual(await listed(opts, { name }), [{ snapshotId: snap.snapshotId, names: [`default/${name}`] }]);
		assert.ok((await listed(opts)).some((x) => x.snapshotId === snap.snapshotId));
		assert.deepEqual(await listed(other), []);
		await rejects(listed(opts, { sandboxId: sbx.sandboxId }), SandboxError,
			(e) => assert.match(e.message, /listing snapshots by sandboxID is not supported by csdk serve; filter by name instead/));
		const from = await Sandbox.create(snap.snapshotId, opts);
		assert.equal(await from.files.read('snapshot.txt'), 'kept\n');
		await from.kill();
		await rejects(Sandbox.create(snap.snapshotId, other), SandboxError, (e) => assert.match(e.message, /template '.*' not found/));
		assert.equal(await Sandbox.deleteSnapshot(snap.snapshotId, other), false);
		assert.equal(await Sandbox.deleteSnapshot(snap.snapshotId, opts), true);
		assert.equal(await Sandbox.deleteSnapshot(snap.snapshotId, opts), false);
		assert.deepEqual(await listed(opts, { name }), []);
		await rejects(Sandbox.createSnapshot('no-such-sandbox', opts), Error, (e) => assert.equal(e.message, 'Sandbox no-such-sandbox not found'));
	});
} else {
	await check('snapshots over a provider without them: 501 with the reason', async () => {
		await rejects(sbx.createSnapshot(), SandboxError, (e) => assert.match(e.message, /provider '[^']+' does not support snapshots; use a provider that has them/));
		const r = await raw('GET', '/snapshots');
		assert.deepEqual(r.json, []);
	});
}

await check('a slow client is cut off and others are served meanwhile', async () => {
	const net = await import('node:net');
	const u = new URL(url);
	const sock = net.connect(Number(u.port), u.hostname);
	await new Promise((r) => sock.once('connect', r));
	sock.write('POST /v2/sandboxes HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nX-API-KEY: k\r\n\r\n{"templ');
	const closed = new Promise((r) => sock.once('close', r));
	sock.on('error', () => {});
	assert.equal((await raw('GET', '/health')).status, 200);
	assert.equal((await sbx.commands.run('echo meanwhile')).stdout, 'meanwhile\n');
	let done = false;
	closed.then(() => { done = true; });
	await eventually('the idle connection closing', async () => done);
});

// The lifetime is cut short after the create: a create given 2 s could itself
// take longer than that on a loaded machine, and be gone before it is listed.
await check('an expired sandbox is gone', async () => {
	const short = await Sandbox.create({ ...opts, metadata: { short: run }, timeoutMs: 120_000 });
	assert.deepEqual(await ids({ metadata: { short: run } }), [short.sandboxId]);
	await short.setTimeout(2_000);
	await eventually('the expiry', async () => (await ids({ metadata: { short: run } })).length === 0);
	await rejects(Sandbox.getInfo(short.sandboxId, opts), NotFoundError);
	await rejects(short.commands.run('true'), Error);
});

await check('kill ends the sandbox; a second kill answers false', async () => {
	await sbx.kill();
	assert.equal(await Sandbox.kill(sbx.sandboxId, opts), false);
	await rejects(Sandbox.getInfo(sbx.sandboxId, opts), NotFoundError);
	assert.deepEqual(await ids({ metadata: { run } }), []);
});

console.log(`sdk: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
