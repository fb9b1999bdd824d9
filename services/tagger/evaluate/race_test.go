//go:build race

package evaluate

// raceDetector is set in a -race build, where TestTargets (tagging the
// whole benchmark) would take minutes; test.sh runs it without -race.
const raceDetector = true
