// Everything the tests share, in one import: servers and clients (gatehouse.ts), the clock a test moves on
// (clock.ts), raw signed requests (sign.ts), error assertions (errors.ts), unique names (names.ts), polling with a
// deadline (wait.ts), the flows on the way to what a test tests (flows.ts) and a server per describe block (suite.ts).
export * from './gatehouse.js';
export * from './clock.js';
export * from './sign.js';
export * from './errors.js';
export * from './names.js';
export * from './wait.js';
export * from './flows.js';
export * from './suite.js';
export * from './moto.js';
