//go:build race

package soak

// raceEnabled: the race detector slows the pipeline several times, and the
// soak run measures a pipeline at speed; test.sh runs it without.
const raceEnabled = true
