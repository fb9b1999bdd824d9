// Package deploy holds no production code: its tests check the deployment
// files beside them with real tools. kustomize (the Go module) builds every
// overlay and each object is decoded strictly into the Kubernetes API types
// and, for ScaledObjects, KEDA's; promtool checks and unit-tests the rules;
// every PromQL expression is parsed and its metric names are matched against
// what the services register; the NATS users' permissions are loaded into a
// real server running the real stages; and a real Prometheus scrapes the
// all-in-one pipeline to evaluate the dashboards' queries.
package deploy
