package stage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The pipeline's subjects. Each is captured by its own stream so retention
// can differ (raw pages are kept for replay; dead letters longer).
const (
	SubjectFetched    = "articles.fetched"
	SubjectNormalized = "articles.normalized"
	SubjectTagged     = "articles.tagged"
	// SubjectDeadPrefix + stage name is where a stage's dead letters go.
	SubjectDeadPrefix = "articles.dead."
)

// Headers on dead letters.
const (
	HeaderDeadStage      = "Newsflow-Dead-Stage"
	HeaderDeadReason     = "Newsflow-Dead-Reason"
	HeaderDeadError      = "Newsflow-Dead-Error"
	HeaderDeadDeliveries = "Newsflow-Dead-Deliveries"
	HeaderDeadSource     = "Newsflow-Dead-Source"   // "<stream>:<sequence>" of the original
	HeaderDeadPayload    = "Newsflow-Dead-Payload"  // set when the original payload is left out
	HeaderDeadInputID    = "Newsflow-Dead-Input-Id" // the original's id, when the stage changed it
	HeaderArticleID      = "Newsflow-Article-Id"
)

// StreamFor returns the stream that captures subject.
func StreamFor(subject string) string {
	switch {
	case subject == SubjectFetched:
		return "ARTICLES_FETCHED"
	case subject == SubjectNormalized:
		return "ARTICLES_NORMALIZED"
	case subject == SubjectTagged:
		return "ARTICLES_TAGGED"
	case strings.HasPrefix(subject, SubjectDeadPrefix):
		return "ARTICLES_DEAD"
	}
	return ""
}

// streamConfig is the configuration newsflow creates a stream with.
func (c Config) streamConfig(subject string) (jetstream.StreamConfig, error) {
	name := StreamFor(subject)
	if name == "" {
		return jetstream.StreamConfig{}, fmt.Errorf("no stream for subject %q", subject)
	}
	sc := jetstream.StreamConfig{
		Name:       name,
		Subjects:   []string{subject},
		Retention:  jetstream.LimitsPolicy,
		Storage:    jetstream.FileStorage,
		Replicas:   c.StreamReplicas,
		MaxAge:     c.Retention,
		Duplicates: c.DuplicateWindow,
		Discard:    jetstream.DiscardOld,
	}
	if c.StreamMaxBytes > 0 {
		// Full: refuse new messages (their publishers wait) rather than
		// discard the oldest, which may not be processed yet.
		sc.MaxBytes, sc.Discard = int64(c.StreamMaxBytes), jetstream.DiscardNew
	}
	if name == "ARTICLES_DEAD" {
		// Dead letters are few and kept for their own age.
		sc.MaxBytes, sc.Discard = 0, jetstream.DiscardOld
		sc.Subjects = []string{SubjectDeadPrefix + ">"}
		sc.MaxAge = c.DeadRetention
		if sc.Duplicates > sc.MaxAge {
			sc.Duplicates = sc.MaxAge
		}
	}
	return sc, nil
}

// ensureStream creates the stream for subject when it is missing. An existing
// stream is left as it is, so replicas started with other retention flags do
// not fight over it; operators change a live stream with the nats CLI. (The
// one exception is -stream-max-bytes, which the stage consuming a stream
// applies to it: see keepRoom.)
func ensureStream(ctx context.Context, js jetstream.JetStream, cfg Config, subject string) (jetstream.Stream, error) {
	sc, err := cfg.streamConfig(subject)
	if err != nil {
		return nil, err
	}
	s, err := js.Stream(ctx, sc.Name)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("look up stream %s: %w", sc.Name, err)
	}
	s, err = js.CreateStream(ctx, sc)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// Another replica created it between our look-up and create.
		return js.Stream(ctx, sc.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", sc.Name, err)
	}
	return s, nil
}

// retryDelay is the nak delay after the n-th delivery failed: base doubling
// per delivery, capped at max.
func retryDelay(base, max time.Duration, delivered uint64) time.Duration {
	d := base
	for i := uint64(1); i < delivered && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}
