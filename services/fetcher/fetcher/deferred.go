package fetcher

import (
	"container/heap"
	"time"

	"github.com/newsflow/newsflow/services/fetcher/page"
)

// Deferred pages: a feed's first poll lists its whole window at once. While
// the stages downstream are at MaxBacklog, a new feed is still polled (so
// that no item of its window scrolls out unseen), but the pages of its new
// items wait here, newest first, and go to the host queues only as the
// backlog falls. The pool is in memory: an item whose page is deferred
// keeps its feed polled without validators (see triage), so that after a
// restart, or a failed fetch, the next poll lists it again.

// deferredFactor sizes the pool when MaxDeferred is not set: this many
// times MaxBacklog (an item takes well under a kilobyte: the 5,000-feed
// soak run, which deferred about 100,000 at first, peaked 73 MB higher
// than without deferral).
const deferredFactor = 20

// deferredJob is one page waiting in the pool.
type deferredJob struct {
	job *itemJob
	at  time.Time // the item's date (zero: undated, goes last)
}

// deferredHeap orders the pool newest first.
type deferredHeap []deferredJob

func (h deferredHeap) Len() int           { return len(h) }
func (h deferredHeap) Less(i, j int) bool { return h[i].at.After(h[j].at) }
func (h deferredHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deferredHeap) Push(x any)        { *h = append(*h, x.(deferredJob)) }
func (h *deferredHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = deferredJob{}
	*h = old[:len(old)-1]
	return d
}

// deferPage puts job's page in the pool. Its URL stays claimed (marked
// deferred) until the page is fetched or has failed.
func (r *pollRun) deferPage(job *itemJob) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queued[job.canonical] = true
	heap.Push(&r.deferred, deferredJob{job: job, at: cmpOr(job.item.Published, job.item.Updated)})
	r.cfg.Metrics.deferred.Set(float64(len(r.deferred)))
}

// deferredEnded counts the pages sent from the pool that are done.
func (r *pollRun) deferredEnded() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deferredDone
}

// settleDeferred stops counting n done pages as on their way: the backlog
// read since counts them.
func (r *pollRun) settleDeferred(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deferredOut -= n
	r.deferredDone -= n
}

// deferredLen counts the pages in the pool, and those sent from it to the
// host queues and not done yet.
func (r *pollRun) deferredLen() (pool, out int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.deferred), r.deferredOut
}

// releaseDeferred sends up to room pages from the pool to the host queues,
// newest first, less those sent before and not done yet.
func (r *pollRun) releaseDeferred(room int) {
	r.mu.Lock()
	var jobs []*itemJob
	for n := room - r.deferredOut; n > 0 && len(r.deferred) > 0; n-- {
		jobs = append(jobs, heap.Pop(&r.deferred).(deferredJob).job)
	}
	r.deferredOut += len(jobs)
	r.cfg.Metrics.deferred.Set(float64(len(r.deferred)))
	r.mu.Unlock()
	now := time.Now()
	for _, job := range jobs {
		done := job.done
		job.done = func(again bool) {
			done(again)
			r.mu.Lock()
			r.deferredDone++
			r.mu.Unlock()
		}
		r.q.push(&queued{ctx: r.ctx, host: page.HostKey(job.item.Link), due: now,
			run:  func(turn *page.Turn) { r.fetchItem(r.ctx, job, turn) },
			fail: func(err error) { r.fetchFailed(r.ctx, job, nil, err) }})
	}
}
