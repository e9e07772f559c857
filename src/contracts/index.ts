// The contracts folder: payload types and id rules, free of runtime imports so the browser client can
// import it (through the `@contracts` alias) as well as the backend and the tests.
export * from './http-api';
export * from './ids';
export * from './socket-events';
