package fetcher

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/newsflow/newsflow/services/fetcher/page"
)

// hostQueue is where the poller's requests wait: one queue per host, the
// earliest due first within a host. A request goes as soon as politeness
// lets its host take one (page.Client.TryTurn), whatever the other hosts
// are doing, with at most conns requests running at once. So throughput is
// bounded by the politeness summed over the hosts, not by one host's
// limiter holding a worker (the fetch queues of established crawlers work
// this way).
type hostQueue struct {
	client  *page.Client
	conns   int
	maxWait time.Duration
	metrics *Metrics

	mu     sync.Mutex
	hosts  map[string]*hostJobs // hosts with jobs waiting
	ready  hostHeap             // the same hosts, by when their next job may go
	seq    uint64
	closed bool
	wake   chan struct{}
}

// queued is one request waiting for its host's turn.
type queued struct {
	ctx  context.Context
	host string // page.HostKey of the URL
	// feed: a feed request, which goes before the host's page requests:
	// an item once listed is known and waits safely, while an item of a
	// feed not fetched yet may scroll out of the feed unseen.
	feed   bool
	due    time.Time // when the work was due (the feed's scheduled poll)
	queued time.Time
	seq    uint64
	// run does the request with the host's turn, on one of the queue's
	// conns; fail is called instead when the job's ctx ended, it waited
	// longer than maxWait, or the queue stopped.
	run  func(turn *page.Turn)
	fail func(err error)
}

// hostJobs are the jobs of one host.
type hostJobs struct {
	name string
	jobs jobHeap
	// at is the earliest time politeness may let the host's next request
	// go, as last learnt from TryTurn.
	at    time.Time
	index int // in hostQueue.ready
}

func newHostQueue(client *page.Client, conns int, maxWait time.Duration, m *Metrics) *hostQueue {
	return &hostQueue{client: client, conns: conns, maxWait: maxWait, metrics: m,
		hosts: map[string]*hostJobs{}, wake: make(chan struct{}, 1)}
}

// push queues j; it never blocks. A job pushed after the queue stopped
// fails at once.
func (q *hostQueue) push(j *queued) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		j.fail(fmt.Errorf("%w: the poll stopped", context.Canceled))
		return
	}
	q.seq++
	j.seq, j.queued = q.seq, time.Now()
	h, ok := q.hosts[j.host]
	if !ok {
		h = &hostJobs{name: j.host}
		q.hosts[j.host] = h
	}
	heap.Push(&h.jobs, j)
	if !ok {
		heap.Push(&q.ready, h)
	} else {
		heap.Fix(&q.ready, h.index)
	}
	q.metrics.queued.Inc()
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// do runs fn with a turn of host's, as a feed request due at due, and
// returns once it has run (nil) or failed to (the error).
func (q *hostQueue) do(ctx context.Context, host string, due time.Time, fn func(turn *page.Turn)) error {
	done := make(chan error, 1)
	q.push(&queued{ctx: ctx, host: host, due: due, feed: true,
		run:  func(turn *page.Turn) { fn(turn); done <- nil },
		fail: func(err error) { done <- err }})
	return <-done
}

// len counts the requests waiting.
func (q *hostQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, h := range q.hosts {
		n += len(h.jobs)
	}
	return n
}

// run sends the queued requests until ctx ends, then fails every job left
// (and every job pushed later) once the requests under way are done.
func (q *hostQueue) run(ctx context.Context) {
	var running sync.WaitGroup
	slots := make(chan struct{}, q.conns)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer func() {
		running.Wait()
		q.mu.Lock()
		q.closed = true
		var left []*queued
		for _, h := range q.hosts {
			left = append(left, h.jobs...)
		}
		q.hosts, q.ready = map[string]*hostJobs{}, nil
		q.metrics.queued.Sub(float64(len(left)))
		q.mu.Unlock()
		for _, j := range left {
			j.fail(fmt.Errorf("%w: the poll stopped", context.Canceled))
		}
	}()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		for {
			j, turn, wait := q.next(time.Now())
			if j != nil {
				running.Go(func() {
					defer func() { <-slots }()
					j.run(turn)
				})
				break
			}
			timer.Reset(wait)
			select {
			case <-q.wake:
			case <-timer.C:
			case <-ctx.Done():
				<-slots
				return
			}
		}
	}
}

// idleWait is how long the dispatcher sleeps with nothing queued, unless a
// push wakes it.
const idleWait = time.Minute

// next takes the job to send now with its host's turn, or says how long
// to wait before one may go. Jobs whose ctx ended or that waited too long
// are failed on the way.
func (q *hostQueue) next(now time.Time) (*queued, *page.Turn, time.Duration) {
	var failed []*queued
	var errs []error
	defer func() {
		for i, j := range failed {
			j.fail(errs[i])
		}
	}()
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.ready) > 0 {
		h := q.ready[0]
		if h.at.After(now) {
			return nil, nil, h.at.Sub(now)
		}
		j := h.jobs[0]
		var err error
		switch {
		case j.ctx.Err() != nil:
			err = j.ctx.Err()
		case now.Sub(j.queued) > q.maxWait:
			err = fmt.Errorf("%w: %w: waited %s for %s", page.ErrTransient, page.ErrHostBusy,
				now.Sub(j.queued).Round(time.Second), h.name)
		}
		if err != nil {
			q.pop(h)
			failed, errs = append(failed, j), append(errs, err)
			continue
		}
		turn, at, ok := q.client.TryTurn(h.name, now)
		if !ok {
			h.at = at
			heap.Fix(&q.ready, h.index)
			continue
		}
		q.pop(h)
		q.metrics.queueWait.Observe(now.Sub(j.queued).Seconds())
		return j, turn, 0
	}
	return nil, nil, idleWait
}

// pop removes h's first job, and h itself once it has none.
func (q *hostQueue) pop(h *hostJobs) {
	heap.Pop(&h.jobs)
	q.metrics.queued.Dec()
	if len(h.jobs) == 0 {
		heap.Remove(&q.ready, h.index)
		delete(q.hosts, h.name)
		return
	}
	heap.Fix(&q.ready, h.index)
}

// jobHeap orders a host's jobs: feeds before pages, then the earliest due,
// then the earliest queued.
type jobHeap []*queued

func (h jobHeap) Len() int { return len(h) }
func (h jobHeap) Less(i, j int) bool {
	if h[i].feed != h[j].feed {
		return h[i].feed
	}
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h jobHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)   { *h = append(*h, x.(*queued)) }
func (h *jobHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return j
}

// hostHeap orders hosts by when their first job may go: not before
// politeness allows, and not before it was due.
type hostHeap []*hostJobs

func (h hostHeap) key(i int) time.Time {
	if d := h[i].jobs[0].due; d.After(h[i].at) {
		return d
	}
	return h[i].at
}
func (h hostHeap) Len() int { return len(h) }
func (h hostHeap) Less(i, j int) bool {
	ki, kj := h.key(i), h.key(j)
	if !ki.Equal(kj) {
		return ki.Before(kj)
	}
	return h[i].jobs[0].seq < h[j].jobs[0].seq
}
func (h hostHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *hostHeap) Push(x any) {
	hj := x.(*hostJobs)
	hj.index = len(*h)
	*h = append(*h, hj)
}
func (h *hostHeap) Pop() any {
	old := *h
	hj := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	hj.index = -1
	return hj
}
