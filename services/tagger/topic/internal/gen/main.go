// Command gen regenerates topic/model.tsv from the IPTC Media Topics JSON and
// topic/vocab.tsv. From services/tagger/topic:
//
//	go run ./internal/gen -iptc ../../../../shared/iptc/cptall-x-all.json
//
// (or go generate ./topic from services/tagger, which runs it with the
// default flags: the shared/ directory beside the repository).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/newsflow/newsflow/services/tagger/topic/internal/modelgen"
)

func main() {
	iptc := flag.String("iptc", "../../../../shared/iptc/cptall-x-all.json", "IPTC Media Topics JSON (cptall-x-all.json)")
	vocab := flag.String("vocab", "vocab.tsv", "hand-written seed vocabulary")
	out := flag.String("out", "model.tsv", "model file to write")
	narrower := flag.String("narrower", "narrower.tsv", "second-level topic file to write")
	flag.Parse()
	if err := run(*iptc, *vocab, *out, *narrower); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(iptcPath, vocabPath, outPath, narrowerPath string) error {
	iptc, err := os.Open(iptcPath)
	if err != nil {
		return fmt.Errorf("open iptc: %w", err)
	}
	defer iptc.Close()
	vocab, err := os.Open(vocabPath)
	if err != nil {
		return fmt.Errorf("open vocab: %w", err)
	}
	defer vocab.Close()
	model, err := modelgen.Build(iptc, vocab)
	if err != nil {
		return err
	}
	if err := os.WriteFile(outPath, model, 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if _, err := iptc.Seek(0, 0); err != nil {
		return fmt.Errorf("rewind iptc: %w", err)
	}
	narrower, err := modelgen.Narrower(iptc)
	if err != nil {
		return err
	}
	if err := os.WriteFile(narrowerPath, narrower, 0o644); err != nil {
		return fmt.Errorf("write narrower topics: %w", err)
	}
	return nil
}
