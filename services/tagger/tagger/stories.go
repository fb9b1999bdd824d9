package tagger

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsflow/newsflow/services/tagger/signature"
	"github.com/newsflow/newsflow/services/tagger/story"
	"github.com/newsflow/newsflow/stage"
)

// The story index is shared by every tagger replica through a stream of
// its own: each replica publishes a compact record of every article it
// groups, and follows the stream (from its start, which is at most one
// window old) into its in-memory index. A replica that starts late replays
// the window before it tags anything.
//
// Accepted race: two copies of one story tagged at the same instant by two
// replicas do not see each other (each record reaches the other replica a
// few milliseconds later), so both may found a story, or the second copy is
// not marked a duplicate. Articles that come later meet both records and
// join the most similar; the two stories stay apart. Within one replica
// linking and adding happen under one lock, so its workers never race.
const (
	StoriesStream  = "TAGGER_STORIES"
	StoriesSubject = "newsflow.tagger.stories"
)

// wireRecord is a story.Record as published: the MinHash sketch as
// little-endian bytes (base64 in JSON), a third of its size as numbers, and
// only the story.KeptHashes values an index keeps.
type wireRecord struct {
	ID       string          `json:"id"`
	Time     time.Time       `json:"t"`
	SimHash  uint64          `json:"sh"`
	MinHash  []byte          `json:"mh"`
	Size     int             `json:"n"`
	Features []story.Feature `json:"f,omitempty"`
	Link     story.Link      `json:"l"`
	Ref      uint64          `json:"q,omitempty"` // the article's input message, for a relink
}

func encodeRecord(r story.Record) ([]byte, error) {
	kept := r.Sig.MinHash[:min(len(r.Sig.MinHash), story.KeptHashes)]
	mh := make([]byte, 4*len(kept))
	for i, v := range kept {
		binary.LittleEndian.PutUint32(mh[4*i:], v)
	}
	return json.Marshal(wireRecord{ID: r.ID, Time: r.Time, SimHash: r.Sig.SimHash, MinHash: mh, Size: r.Sig.Size, Features: r.Features, Link: r.Link, Ref: r.Ref})
}

func decodeRecord(b []byte) (story.Record, error) {
	var w wireRecord
	if err := json.Unmarshal(b, &w); err != nil {
		return story.Record{}, fmt.Errorf("decode story record: %w", err)
	}
	if w.ID == "" || len(w.MinHash)%4 != 0 {
		return story.Record{}, errors.New("decode story record: no id or a torn sketch")
	}
	mh := make([]uint32, len(w.MinHash)/4)
	for i := range mh {
		mh[i] = binary.LittleEndian.Uint32(w.MinHash[4*i:])
	}
	return story.Record{ID: w.ID, Time: w.Time, Sig: signature.Signature{SimHash: w.SimHash, MinHash: mh, Size: w.Size}, Features: w.Features, Link: w.Link, Ref: w.Ref}, nil
}

// storyStream publishes records and follows the stream into the index.
type storyStream struct {
	js     jetstream.JetStream
	index  *story.Index
	log    *slog.Logger
	cc     jetstream.ConsumeContext
	errors func() // counts a record that could not be read
}

// openStories creates the stream if missing, replays it into index and
// keeps following it until ctx ends. Once it has caught up, it calls
// stale with each record that makes the links of later articles stale
// (see story.Index.Add); stale may be nil.
func openStories(ctx context.Context, js jetstream.JetStream, index *story.Index, window time.Duration, replicas int, dupWindow time.Duration, log *slog.Logger, bad func(), stale func([]story.Stale)) (*storyStream, error) {
	cfg := jetstream.StreamConfig{
		Name:       StoriesStream,
		Subjects:   []string{StoriesSubject},
		Retention:  jetstream.LimitsPolicy,
		Storage:    jetstream.FileStorage,
		Replicas:   replicas,
		MaxAge:     window,
		Duplicates: min(dupWindow, window),
		Discard:    jetstream.DiscardOld,
	}
	st, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", StoriesStream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", StoriesStream, err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return nil, fmt.Errorf("follow stream %s: %w", StoriesStream, err)
	}
	s := &storyStream{js: js, index: index, log: log, errors: bad}
	caughtUp := make(chan struct{})
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		close(caughtUp)
	}
	s.cc, err = cons.Consume(func(m jetstream.Msg) {
		r, err := decodeRecord(m.Data())
		if err != nil {
			s.errors()
			log.Warn("skipping unreadable story record", "error", err)
		} else if st := index.Add(r); len(st) > 0 && stale != nil {
			select {
			case <-caughtUp:
				stale(st)
			default:
				// Replaying the window: a later record of the stream
				// shows the relink that was done then.
			}
		}
		if md, err := m.Metadata(); err == nil && md.Sequence.Stream >= last && last > 0 {
			select {
			case <-caughtUp:
			default:
				close(caughtUp)
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("follow stream %s: %w", StoriesStream, err)
	}
	select {
	case <-caughtUp:
	case <-ctx.Done():
		s.cc.Stop()
		return nil, ctx.Err()
	}
	log.Info("story index replayed", "records", index.Len())
	return s, nil
}

// publish stores r in the stream; a re-publish of the same version within
// the duplicate window is dropped by the server.
func (s *storyStream) publish(ctx context.Context, r story.Record, version string) error {
	b, err := encodeRecord(r)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: StoriesSubject, Data: b, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, r.ID+":"+version+":story")
	ctx, cancel := context.WithTimeout(ctx, stage.PublishTry)
	defer cancel()
	if _, err := s.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("publish story record: %w", err)
	}
	return nil
}

func (s *storyStream) stop() {
	if s.cc != nil {
		s.cc.Stop()
	}
}
