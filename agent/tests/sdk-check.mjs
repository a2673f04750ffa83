// Drives a running csdk-agent through the official e2b SDK.
// env: E2B_SDK_DIR (node_modules holding e2b), AGENT_URL, AGENT_TOKEN, WORK (scratch dir)
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const sdk = await import(pathToFileURL(path.join(process.env.E2B_SDK_DIR, 'e2b/dist/index.mjs')).href);
const { Sandbox, CommandExitError, NotFoundError, AuthenticationError, TimeoutError } = sdk;
const agentUrl = process.env.AGENT_URL;
const work = process.env.WORK;
const tokens = { good: process.env.AGENT_TOKEN, bad: 'not-the-token' };

// The control plane, reduced to what Sandbox.connect asks: the sandbox's envd token.
const api = http.createServer((req, res) => {
	const m = req.url.match(/^\/v2\/sandboxes\/([^/]+)\/connect$/);
	req.resume();
	if (req.method !== 'POST' || !m || !(m[1] in tokens)) {
		res.writeHead(404, { 'content-type': 'application/json' });
		res.end(JSON.stringify({ code: 404, message: 'not found' }));
		return;
	}
	res.writeHead(200, { 'content-type': 'application/json' });
	res.end(JSON.stringify({ sandboxID: m[1], templateID: 'base', clientID: 'c', envdVersion: '0.5.7',
		envdAccessToken: tokens[m[1]] }));
});
await new Promise((r) => api.listen(0, '127.0.0.1', r));
const opts = { apiKey: 'e2b_test', apiUrl: `http://127.0.0.1:${api.address().port}`, sandboxUrl: agentUrl };

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

const sbx = await Sandbox.connect('good', opts);

await check('commands.run streams stdout and stderr', async () => {
	const out = [], err = [];
	const r = await sbx.commands.run('echo hello; echo oops >&2; printf tail', {
		onStdout: (d) => out.push(d), onStderr: (d) => err.push(d) });
	assert.equal(r.exitCode, 0);
	assert.equal(r.stdout, 'hello\ntail');
	assert.equal(r.stderr, 'oops\n');
	assert.equal(r.error, undefined);
	assert.equal(out.join(''), 'hello\ntail');
	assert.equal(err.join(''), 'oops\n');
});

await check('a failing command is a CommandExitError with its exit code', async () => {
	await rejects(sbx.commands.run('echo partial; exit 3'), CommandExitError, (e) => {
		assert.equal(e.exitCode, 3);
		assert.equal(e.error, 'exit status 3');
		assert.equal(e.stdout, 'partial\n');
	});
});

await check('cwd and envs reach the process', async () => {
	const r = await sbx.commands.run('pwd; echo "$FOO-$BAR"', { cwd: work, envs: { FOO: 'foo', BAR: 'b a r' } });
	assert.equal(r.stdout, `${work}\nfoo-b a r\n`);
});

await check('background command: list, kill, end as signal: killed', async () => {
	const h = await sbx.commands.run('sleep 30', { background: true, tag: undefined });
	assert.ok(h.pid > 0);
	const list = await sbx.commands.list();
	const mine = list.find((p) => p.pid === h.pid);
	assert.ok(mine, 'the process is listed');
	assert.equal(mine.cmd, '/bin/bash');
	assert.deepEqual(mine.args, ['-l', '-c', 'sleep 30']);
	assert.equal(await sbx.commands.kill(h.pid), true);
	await rejects(h.wait(), CommandExitError, (e) => {
		assert.equal(e.exitCode, -1);
		assert.equal(e.error, 'signal: killed');
	});
	assert.ok(!(await sbx.commands.list()).some((p) => p.pid === h.pid), 'gone from the list');
	assert.equal(await sbx.commands.kill(h.pid), false);
});

await check('stdin: sendStdin then closeStdin', async () => {
	const h = await sbx.commands.run('cat; echo end', { background: true, stdin: true });
	await sbx.commands.sendStdin(h.pid, 'abc\n');
	await sbx.commands.sendStdin(h.pid, 'def');
	await sbx.commands.closeStdin(h.pid);
	const r = await h.wait();
	assert.equal(r.stdout, 'abc\ndefend\n');
	assert.equal(r.exitCode, 0);
});

await check('re-attach to a running command with connect', async () => {
	const h = await sbx.commands.run('sleep 1; echo later; exit 4', { background: true });
	await h.disconnect();
	const again = await sbx.commands.connect(h.pid);
	await rejects(again.wait(), CommandExitError, (e) => {
		assert.equal(e.exitCode, 4);
		assert.equal(e.stdout, 'later\n');
	});
});

await check('connect to an unknown pid is NotFoundError', async () => {
	await rejects(sbx.commands.connect(999999), NotFoundError, (e) => {
		assert.match(e.message, /process with pid 999999 not found/);
	});
});

await check('timeoutMs ends a command that runs too long', async () => {
	const t0 = Date.now();
	await rejects(sbx.commands.run('sleep 120', { timeoutMs: 1000 }), TIMEOUT_CLASS());
	assert.ok(Date.now() - t0 < 60000, 'ended within 60 s, long before the command would');
});

await check('files: text round trip and the written entry', async () => {
	const info = await sbx.files.write(`${work}/dir/a.txt`, 'hello');
	assert.deepEqual({ path: info.path, name: info.name, type: info.type },
		{ path: `${work}/dir/a.txt`, name: 'a.txt', type: 'file' });
	assert.equal(await sbx.files.read(`${work}/dir/a.txt`), 'hello');
});

await check('files: binary round trip (multipart and octet-stream)', async () => {
	const bytes = new Uint8Array(70000).map((_, i) => (i * 7 + 3) & 255);
	await sbx.files.write(`${work}/bin1`, bytes.buffer);
	assert.deepEqual(await sbx.files.read(`${work}/bin1`, { format: 'bytes' }), bytes);
	await sbx.files.write(`${work}/bin2`, bytes.buffer, { useOctetStream: true });
	assert.deepEqual(await sbx.files.read(`${work}/bin2`, { format: 'bytes' }), bytes);
});

await check('files: several files in one write', async () => {
	const res = await sbx.files.write([
		{ path: `${work}/multi/b.txt`, data: 'B' },
		{ path: `${work}/multi/c.txt`, data: 'CC' },
	]);
	assert.deepEqual(res.map((f) => f.path), [`${work}/multi/b.txt`, `${work}/multi/c.txt`]);
	assert.equal(await sbx.files.read(`${work}/multi/b.txt`), 'B');
	assert.equal(await sbx.files.read(`${work}/multi/c.txt`), 'CC');
});

await check('files: list with depth, getInfo, exists', async () => {
	const l1 = await sbx.files.list(`${work}/multi`);
	assert.deepEqual(l1.map((e) => [e.name, e.type, e.size, e.path]),
		[['b.txt', 'file', 1, `${work}/multi/b.txt`], ['c.txt', 'file', 2, `${work}/multi/c.txt`]]);
	const deep = await sbx.files.list(work, { depth: 2 });
	assert.ok(deep.some((e) => e.path === `${work}/dir/a.txt`), 'depth 2 reaches dir/a.txt');
	assert.ok(!(await sbx.files.list(work)).some((e) => e.path === `${work}/dir/a.txt`), 'depth 1 does not');
	const info = await sbx.files.getInfo(`${work}/dir/a.txt`);
	assert.equal(info.name, 'a.txt');
	assert.equal(info.type, 'file');
	assert.equal(info.size, 5);
	assert.equal(info.mode, 0o644);
	assert.equal(info.permissions, '-rw-r--r--');
	assert.equal(info.owner, 'root');
	assert.ok(info.modifiedTime instanceof Date && Math.abs(info.modifiedTime - Date.now()) < 60000);
	const dir = await sbx.files.getInfo(`${work}/dir`);
	assert.equal(dir.type, 'dir');
	assert.equal(await sbx.files.exists(`${work}/dir/a.txt`), true);
	assert.equal(await sbx.files.exists(`${work}/nope`), false);
});

await check('files: makeDir, rename, remove', async () => {
	assert.equal(await sbx.files.makeDir(`${work}/new/deep`), true);
	assert.equal(await sbx.files.makeDir(`${work}/new/deep`), false);
	const moved = await sbx.files.rename(`${work}/dir/a.txt`, `${work}/new/deep/z.txt`);
	assert.equal(moved.path, `${work}/new/deep/z.txt`);
	assert.equal(moved.name, 'z.txt');
	assert.equal(await sbx.files.read(`${work}/new/deep/z.txt`), 'hello');
	await sbx.files.remove(`${work}/new`);
	assert.equal(await sbx.files.exists(`${work}/new`), false);
});

await check('files: missing paths are NotFoundError', async () => {
	await rejects(sbx.files.read(`${work}/missing.txt`), NotFoundError);
	await rejects(sbx.files.getInfo(`${work}/missing.txt`), NotFoundError);
	await rejects(sbx.files.list(`${work}/missing-dir`), NotFoundError);
	await rejects(sbx.files.rename(`${work}/missing.txt`, `${work}/x`), NotFoundError);
});

await check('a wrong access token is refused', async () => {
	const bad = await Sandbox.connect('bad', opts);
	await rejects(bad.commands.run('echo no'), AuthenticationError);
	await rejects(bad.commands.list(), AuthenticationError);
	await rejects(bad.files.read(`${work}/multi/b.txt`), AuthenticationError);
	await rejects(bad.files.write(`${work}/refused.txt`, 'x'), AuthenticationError);
	await rejects(bad.files.getInfo(work), AuthenticationError);
	assert.equal(await sbx.files.exists(`${work}/refused.txt`), false);
});

function TIMEOUT_CLASS() { return TimeoutError; }

api.close();
console.log(`sdk: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
