// SPDX-License-Identifier: MIT
// Workload (m), Node's side: an echo server on net, with TCP_NODELAY as
// the other servers have it. Prints "port N" once listening.
// Usage: node echo.js PORT
'use strict';
const net = require('net');

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.setNoDelay(true);
  socket.on('data', (data) => socket.write(data));
  socket.on('error', () => socket.destroy());
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log('port ' + server.address().port);
});
process.on('SIGTERM', () => process.exit(0));
