export { startGateway } from './app.ts';
export { type GatewayConfig, readGatewayConfig } from './config.ts';
