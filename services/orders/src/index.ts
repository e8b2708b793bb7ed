export { type OrdersDependencies, startOrdersService } from './app.ts';
export { type OrdersConfig, readOrdersConfig } from './config.ts';
export { seedDemoProducts } from './seed.ts';
