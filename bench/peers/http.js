// SPDX-License-Identifier: MIT
// Workload (w), Node's side: the http module answering GET / with
// "Hello, World!" as text/plain. Prints "port N" once listening.
// Usage: node http.js PORT
'use strict';
const http = require('http');

const hello = Buffer.from('Hello, World!');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain',
                       'Content-Length': hello.length });
  res.end(hello);
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log('port ' + server.address().port);
});
process.on('SIGTERM', () => process.exit(0));
