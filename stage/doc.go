// Package stage is the runtime every newsflow service runs on: configuration
// from flags and NEWSFLOW_* environment variables, logging, the NATS
// JetStream connection with idempotent stream and consumer setup, the
// consume → handle → publish → ack loop with retries and dead-lettering,
// Prometheus metrics, /metrics, /healthz and /readyz, and graceful shutdown.
//
// A service supplies only a Handler and its own flags. The all-in-one
// runner (cmd/newsflow) starts several stages in one process by calling
// New once per stage with a shared Telemetry and Health.
package stage
