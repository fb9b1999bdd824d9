package cli

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/newsflow/newsflow/services/tagger/tagger"
)

type tagInput struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

type tagTopic struct {
	Code  string  `json:"code"`
	Label string  `json:"label"`
	Score float64 `json:"score"`
	Level int     `json:"level"`
}

type tagOutput struct {
	ID                 string     `json:"id"`
	Language           string     `json:"language"`
	LanguageConfidence float64    `json:"language_confidence"`
	Topics             []tagTopic `json:"topics"`
	Keywords           []string   `json:"keywords"`
	Error              string     `json:"error,omitempty"`
}

// maxLine bounds one input line (an article with its text).
const maxLine = 16 << 20

func tagCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var cfg tagger.Config
	fs := flag.NewFlagSet("tag", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	tg, err := cfg.Tagger()
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	line, failed := 0, 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var in tagInput
		if err := json.Unmarshal(sc.Bytes(), &in); err != nil {
			failed++
			if err := enc.Encode(tagOutput{Error: fmt.Sprintf("line %d: %v", line, err)}); err != nil {
				return err
			}
			continue
		}
		res := tg.Tag(in.Title, in.Text)
		out := tagOutput{ID: in.ID, Language: res.Language, LanguageConfidence: res.LanguageConfidence, Topics: []tagTopic{}, Keywords: []string{}}
		for _, t := range res.Topics {
			out.Topics = append(out.Topics, tagTopic{Code: t.Code, Label: t.Label, Score: t.Score, Level: t.Level})
		}
		for _, k := range res.Keywords {
			out.Keywords = append(out.Keywords, k.Term)
		}
		if err := enc.Encode(out); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stdin after line %d: %w", line, err)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d lines were not valid JSON", failed, line)
	}
	return nil
}
