// A WebSocket test server standing in for kube-apiserver's pods/exec with
// the v5.channel.k8s.io protocol, which the v1.20 test cluster lacks: it
// answers on 127.0.0.1 only, echoes stdin (channel 0) to stdout once the
// client closes stdin with the v5 CLOSE frame (channel 255, then 0), then
// sends a Success Status on channel 3. Without that frame within 3 s it
// ends with exit code 9. Prints its port on the first line.
const http = require('http');
const { WebSocketServer } = require('ws');

const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
const wss = new WebSocketServer({
	noServer: true,
	handleProtocols: (protocols) => protocols.has('v5.channel.k8s.io') ? 'v5.channel.k8s.io' : false,
});
server.on('upgrade', (req, socket, head) => {
	if (!/^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+\/exec\?/.test(req.url) || !/stdin=true/.test(req.url)) {
		socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{"message":"bad exec request"}');
		return;
	}
	wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
wss.on('connection', (ws) => {
	const chunks = [];
	let done = false;
	const finish = (code) => {
		if (done) return;
		done = true;
		const out = Buffer.concat(chunks);
		ws.send(Buffer.concat([Buffer.from([1]), out]));
		const status = code === 0 ? { metadata: {}, status: 'Success' } :
			{ metadata: {}, status: 'Failure', reason: 'NonZeroExitCode',
			  details: { causes: [{ reason: 'ExitCode', message: String(code) }] } };
		ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(status))]));
		ws.close();
	};
	const timer = setTimeout(() => finish(9), 3000);
	ws.on('message', (data) => {
		const b = Buffer.from(data);
		if (b[0] === 0) chunks.push(b.subarray(1));
		else if (b[0] === 255 && b[1] === 0) { clearTimeout(timer); finish(0); }
	});
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
