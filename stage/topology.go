package stage

import "fmt"

// Topology is one stage's place in the pipeline: the subject it consumes
// (through a durable consumer named after the stage; "" for the fetcher,
// which consumes nothing) and the subject it publishes ("" for the sink).
// Its dead letters go to SubjectDeadPrefix + Name.
type Topology struct {
	Name, Input, Output string
}

// Pipeline is the pipeline's stages in order. The services, the all-in-one
// and the CLI read their subjects from here; nothing else names them.
var Pipeline = []Topology{
	{Name: "fetcher", Output: SubjectFetched},
	{Name: "normalizer", Input: SubjectFetched, Output: SubjectNormalized},
	{Name: "tagger", Input: SubjectNormalized, Output: SubjectTagged},
	{Name: "sink", Input: SubjectTagged},
}

// StageTopology returns the named stage's place in the pipeline; it panics
// on a name that is not there, which is a programming error.
func StageTopology(name string) Topology {
	for _, t := range Pipeline {
		if t.Name == name {
			return t
		}
	}
	panic(fmt.Sprintf("stage: no stage %q in the pipeline", name))
}

// Consumers returns the stages that consume, in pipeline order.
func Consumers() []Topology {
	var out []Topology
	for _, t := range Pipeline {
		if t.Input != "" {
			out = append(out, t)
		}
	}
	return out
}

// InputOf is the input subject of the named stage, "" for a stage without
// one (the fetcher) or a name not in the pipeline.
func InputOf(name string) string {
	for _, t := range Pipeline {
		if t.Name == name {
			return t.Input
		}
	}
	return ""
}

// ConsumerNames are the names of the stages that consume, in order.
func ConsumerNames() []string {
	var names []string
	for _, t := range Consumers() {
		names = append(names, t.Name)
	}
	return names
}

// ConsumerOf is the name of the stage that consumes subject, "" for none.
func ConsumerOf(subject string) string {
	for _, t := range Pipeline {
		if t.Input == subject && subject != "" {
			return t.Name
		}
	}
	return ""
}
