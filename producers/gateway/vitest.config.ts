import { defineConfig } from 'vitest/config';

// Integration tests share a 2-core machine with a Kafka (and a private one in the outage test):
// one file at a time keeps their timings meaningful.
export default defineConfig({ test: { fileParallelism: false } });
