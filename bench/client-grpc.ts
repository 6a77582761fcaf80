/**
 * The gRPC section of bench:client alone (bench/client/grpc-section.ts):
 *
 *   npm run build && node dist/bench/client-grpc.js
 */
import { grpcSection } from './client/grpc-section.js';

process.stdout.write(`${await grpcSection()}\n`);
