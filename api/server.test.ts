import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import express from 'express';
import { listen } from './server';

describe('the API server', () => {
  let server: http.Server;
  let base: string;
  const seen: { createdWithExpressPrototype: boolean; sameClassAsBefore: boolean }[] = [];
  let firstRequestClass: unknown;

  beforeAll(async () => {
    const app = express();
    app.set('query parser', 'simple');
    app.get('/echo', (req, res) => {
      // Node made these objects; Express then set their prototype to app.request / app.response. When the
      // objects were born with it, their class is ours, not http.IncomingMessage or http.ServerResponse.
      firstRequestClass ??= req.constructor;
      seen.push({
        createdWithExpressPrototype:
          req instanceof http.IncomingMessage &&
          req.constructor !== http.IncomingMessage &&
          Object.getPrototypeOf(req) === req.constructor.prototype &&
          res.constructor !== http.ServerResponse &&
          Object.getPrototypeOf(res) === res.constructor.prototype,
        sameClassAsBefore: req.constructor === firstRequestClass,
      });
      res
        .status(201)
        .set('x-echo', req.get('x-echo') ?? '')
        .json({ query: req.query, path: req.path, app: req.app === app, locals: typeof res.locals });
    });
    server = await listen(app, 0, '127.0.0.1');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test('requests and responses are born with the prototype Express gives them, and Express works on them', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/echo?a=${i}`, { headers: { 'x-echo': `hello ${i}` } });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-echo')).toBe(`hello ${i}`);
      expect(await res.json()).toEqual({
        query: { a: String(i) },
        path: '/echo',
        app: true,
        locals: 'object',
      });
    }
    expect(seen).toEqual(Array(3).fill({ createdWithExpressPrototype: true, sameClassAsBefore: true }));
  });

  test('malformed requests still get problem details from Node’s parser', async () => {
    const { port } = server.address() as AddressInfo;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = new net.Socket();
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.connect(port, '127.0.0.1', () => socket.write('NOT HTTP\r\n\r\n'));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(answer).toContain('application/problem+json');
  });

  test('a port in use is an error, not a hang', async () => {
    const { port } = server.address() as AddressInfo;
    await expect(listen(express(), port, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
