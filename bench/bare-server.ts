// The baseline: the least a Node.js HTTP server can do for an API call. It reads the request body and answers a fixed
// JSON document of about the size of a DescribeUser response, with the headers an AWS response carries.
// `bare-server.js <port> <processes>` runs it in that many processes sharing the port (node:cluster), as Gatehouse's
// workers do.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

const body = Buffer.from(
  JSON.stringify({
    IdentityStoreId: 'd-0123456789',
    UserId: '0123456789-00000000-0000-0000-0000-000000000000',
    UserName: 'bench-user-0',
    DisplayName: 'Bench User 0',
    Name: { GivenName: 'Bench', FamilyName: 'User 0' },
    Emails: [{ Value: 'bench-user-0@example.com', Type: 'work', Primary: true }],
  }),
);

const port = Number(process.argv[2] ?? 0);
const processes = Number(process.argv[3] ?? 1);

if (cluster.isPrimary && processes > 1) {
  let listening = 0;
  for (let i = 0; i < processes; i++) {
    cluster.fork().on('message', (url: string) => {
      if (++listening === processes) console.log(`listening on ${url}`);
    });
  }
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': body.length, 'x-amzn-RequestId': randomUUID() });
      res.end(body);
    });
  });
  server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
    if (cluster.isWorker) process.send!(url);
    else console.log(`listening on ${url}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
