// Package e2e holds the end-to-end tests: they build the four service
// binaries and a real nats-server (pinned as a tool in go.mod), run each as
// its own process on loopback, and check the pipeline's guarantees from the
// outside.
package e2e
