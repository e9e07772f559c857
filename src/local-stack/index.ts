export { startLocalStack } from './local-stack';
export type { BackendInstance, LocalStack, LocalStackOptions } from './local-stack';
