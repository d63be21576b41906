// Baseline for the benchmarks: the least a Node HTTP server can do — answer every request with the
// same JSON bytes from memory. Usage: node bare-server.mjs BODY_FILE (prints a ready line like timonel up).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const body = readFileSync(process.argv[2]);
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
});
// the same connection settings as the API server
server.requestTimeout = 0;
server.headersTimeout = 60_000;
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`bare node:http server ready at http://127.0.0.1:${port} in ${Math.round(performance.now())} ms\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
