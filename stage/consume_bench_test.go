package stage

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/stage/natstest"
)

// BenchmarkConsume measures what the stage runtime costs per message when
// the handler does no work: pull, decode, publish the output (waiting for
// JetStream's ack), ack the input. The input stream is filled before the
// clock starts; each article carries a 10 KB text, about a normalized
// article. CPU is the whole process's, the embedded nats-server's included,
// as the distributed pipeline pays both.
//
//	go test -run '^$' -bench Consume -benchtime 5000x ./stage/
func BenchmarkConsume(b *testing.B) {
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			s := natstest.Run(b)
			cfg := testConfig(s.ClientURL())
			cfg.Workers = workers
			rt, tel := quietRuntime(b, cfg, "tagger")
			pub, err := rt.Publisher(b.Context(), SubjectNormalized)
			if err != nil {
				b.Fatal(err)
			}
			text := strings.Repeat("The council met on Tuesday to discuss the budget. ", 200)
			for i := range b.N {
				a := article(fmt.Sprint("bench-", i))
				a.Normalized = &newsflowv1.Normalized{Title: "A title", Text: text}
				if err := pub.Publish(b.Context(), a); err != nil {
					b.Fatal(err)
				}
			}
			var handled atomic.Int64
			all := make(chan struct{})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			b.ResetTimer()
			cpu0, wall0 := processCPU(b), time.Now()
			go func() {
				done <- rt.Consume(ctx, SubjectNormalized, SubjectTagged, func(_ context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
					if handled.Add(1) == int64(b.N) {
						close(all)
					}
					return a, nil
				})
			}()
			select {
			case <-all:
			case <-time.After(10 * time.Minute):
				b.Fatalf("handled %d of %d", handled.Load(), b.N)
			}
			// The last handler returned before its output was published
			// and its input acked: wait until every message is counted
			// done.
			for tel.MessageCount("tagger", OutcomeOK) < float64(b.N) {
				time.Sleep(time.Millisecond)
			}
			wall, cpu := time.Since(wall0), processCPU(b)-cpu0
			b.StopTimer()
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/wall.Seconds(), "msgs/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
		})
	}
}

// processCPU is the CPU time the process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
