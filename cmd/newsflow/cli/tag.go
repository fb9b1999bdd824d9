package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/newsflow/newsflow/services/tagger/story"
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

type tagEntity struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Subtype  string `json:"subtype,omitempty"`
	Mentions int    `json:"mentions"`
}

type tagSignature struct {
	SimHash  string   `json:"simhash"` // 16 hex digits
	MinHash  []uint32 `json:"minhash,omitempty"`
	Shingles int      `json:"shingles"`
}

// tagStory is where the line stands among the earlier lines of the input.
type tagStory struct {
	ID          string  `json:"id"`
	DuplicateOf string  `json:"duplicate_of,omitempty"`
	DerivedFrom string  `json:"derived_from,omitempty"`
	Overlap     float64 `json:"overlap,omitempty"`
}

type tagOutput struct {
	ID                 string        `json:"id"`
	Language           string        `json:"language"`
	LanguageConfidence float64       `json:"language_confidence"`
	Topics             []tagTopic    `json:"topics"`
	Keywords           []string      `json:"keywords"`
	Entities           []tagEntity   `json:"entities"`
	Signature          *tagSignature `json:"signature,omitempty"`
	Story              *tagStory     `json:"story,omitempty"`
	Error              string        `json:"error,omitempty"`
}

// maxLine bounds one input line (an article with its text).
const maxLine = 16 << 20

func tagCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg := tagger.DefaultConfig()
	fs := flag.NewFlagSet("tag", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	minhash := fs.Bool("minhash", false, "include the MinHash sketch (256 numbers) in the signature")
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
	// Lines are grouped against each other as the tagger groups a stream;
	// the input order stands for time, so no line is earlier than one
	// before it and none makes an earlier line's link stale.
	stories := story.New(cfg.StoryConfig())
	start := time.Now().UTC()
	line, failed := 0, 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var in tagInput
		err := json.Unmarshal(sc.Bytes(), &in)
		if err == nil && !bytes.HasPrefix(bytes.TrimSpace(sc.Bytes()), []byte("{")) {
			// null, a number, a string: valid JSON, not an article.
			err = errors.New("want a JSON object with title and text")
		}
		if err != nil {
			failed++
			if err := enc.Encode(tagOutput{Error: fmt.Sprintf("line %d: %v", line, err)}); err != nil {
				return err
			}
			continue
		}
		res := tg.Tag(in.Title, in.Text)
		out := tagOutput{ID: in.ID, Language: res.Language, LanguageConfidence: res.LanguageConfidence, Topics: []tagTopic{}, Keywords: []string{}, Entities: []tagEntity{}}
		for _, e := range res.Entities {
			out.Entities = append(out.Entities, tagEntity{Name: e.Name, Type: e.Type, Subtype: e.Subtype, Mentions: e.Mentions})
		}
		if res.Signature.Size > 0 {
			out.Signature = &tagSignature{SimHash: fmt.Sprintf("%016x", res.Signature.SimHash), Shingles: res.Signature.Size}
			if *minhash {
				out.Signature.MinHash = res.Signature.MinHash
			}
			id := in.ID
			if id == "" {
				id = fmt.Sprintf("line-%d", line)
			}
			r, _ := stories.Assign(story.Record{ID: id, Time: start.Add(time.Duration(line) * time.Second), Sig: res.Signature, Features: res.Features()})
			out.Story = &tagStory{ID: r.Link.Story, DuplicateOf: r.Link.DuplicateOf, DerivedFrom: r.Link.DerivedFrom, Overlap: r.Link.Overlap}
		}
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
