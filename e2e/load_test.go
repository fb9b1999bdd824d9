package e2e

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/cmd/newsflow/soak"
	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/stage"
)

// loadFeeds is how many feeds (of 10 items each) TestLoad's corpus has:
// NEWSFLOW_LOAD_FEEDS, else 20 (200 articles, the short run of ./test.sh).
func loadFeeds(t *testing.T) int {
	if v := os.Getenv("NEWSFLOW_LOAD_FEEDS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "NEWSFLOW_LOAD_FEEDS")
		return n
	}
	return 20
}

// TestLoad is the load harness: a fixed corpus of feeds on loopback (the
// soak farm, frozen, 10 items a feed) goes through the fetcher's real path
// three ways, and it reports what each cost:
//
//  1. each stage alone, over its input stream filled by the stage before
//     (the others stopped): CPU per article and rate;
//  2. the four services and nats-server at once, as processes: wall time,
//     articles/s, CPU per article summed over the processes (nats-server
//     included), each process's peak RSS, and JetStream bytes per 1,000
//     articles;
//  3. the all-in-one (newsflow run -once) over the same corpus: wall time
//     and CPU, and the ratio of the two throughputs;
//  4. the services at once against a farm that keeps publishing: the rate
//     they sustain on it, then fetch→stored latency at half that rate.
//
// Every article must be stored by each of the first three ways. The
// figures are reported, not asserted. NEWSFLOW_LOAD_FEEDS=100 gives the
// documented full run (1,000 articles); NEWSFLOW_LOAD_ROUNDS=N runs ways
// 1, 2 and 3 N times in turn and reports each round's ratios, of its own
// figures, and their medians. With
// NEWSFLOW_LOAD_PROFILE=DIR, every process of way 2 (in the first round)
// is CPU-profiled throughout, in one-second profiles written to
// DIR/NAME-N.pprof (read them with go tool pprof -top DIR/tagger-*.pprof),
// and so are the services of the latency window, into DIR/latency.
// The services run with GOMAXPROCS=1, as under their Kubernetes CPU
// limit; NEWSFLOW_LOAD_GOMAXPROCS sets another value ("" leaves it to Go).
func TestLoad(t *testing.T) {
	feeds := loadFeeds(t)
	farm, err := soak.StartFarm(soak.FarmConfig{Feeds: feeds, Hosts: max(feeds/5, 1), Items: 10, PeriodMin: time.Hour, PeriodMax: 2 * time.Hour, Seed: 5})
	require.NoError(t, err)
	t.Cleanup(farm.Close)
	farm.Freeze()
	n := len(farm.Listed())
	require.Equal(t, feeds*10, n)
	feedsFile := filepath.Join(t.TempDir(), "feeds.txt")
	require.NoError(t, os.WriteFile(feedsFile, []byte(strings.Join(farm.FeedURLs(), "\n")+"\n"), 0o644))
	fetchArgs := []string{"-feeds-file", feedsFile, "-once", "-allow-net", "127.0.0.0/8", "-host-rate", "0"}

	profDir := os.Getenv("NEWSFLOW_LOAD_PROFILE")

	// 1, 2 and 3, in turn over NEWSFLOW_LOAD_ROUNDS rounds: the
	// machine's speed drifts (the stages alone cost 3.81, 5.12 and 4.89
	// ms per article in the three rounds of one run), and a ratio of runs
	// made one after the other is steadier than any one figure, so each
	// round's ratios are of its own figures. The first round's are the
	// detailed figures (and its processes the profiled).
	var rounds []round
	for r := range loadRounds(t) {
		dir := ""
		if r == 0 {
			dir = profDir
		}
		a := runAlone(t, fetchArgs, n)
		d := runDistributed(t, fetchArgs, n, dir)
		w, c := runAllInOne(t, fetchArgs, n, dir)
		rounds = append(rounds, round{a, d, w, c})
	}
	alone, aloneWall, aloneNATS := rounds[0].alone.cost, rounds[0].alone.wall, rounds[0].alone.nats
	d, aioWall, aioCost := rounds[0].dist, rounds[0].aioWall, rounds[0].aio
	dist, msgs, distWall, streamBytes, distBatch := d.cost, d.msgs, d.wall, d.streamBytes, d.batch

	// 4. Latency at half the rate the pipeline sustains on a farm that
	// keeps publishing (feeds polled every 5 s, one new item each a
	// poll): such a load costs more per article than the corpus (a poll,
	// its registry writes and a small batch for every article or two, and
	// stories that grow), so half the corpus rate can be the whole
	// machine. First a farm offers 1.25 times the corpus rate: the
	// articles stored a second over 20 s once its first window is stored
	// (a backlog by then, unless the pipeline keeps up with all of it) are
	// what the pipeline sustains. Then, with those processes stopped, a
	// farm offers half of that, and fetch→stored is measured over 30 s
	// once the first window and what was published meanwhile are worked
	// off.
	sustainedAt := float64(n) / distWall.Seconds() * 1.25
	probe := runWindow(t, sustainedAt, 2, 20*time.Second, false, "")
	sustained := min(probe.rate, sustainedAt)
	half := max(sustained/2, 1)
	w := runWindow(t, half, 5, 30*time.Second, true, profDir)

	// The report.
	perArticle := func(d time.Duration) string {
		return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000/float64(n))
	}
	switches := func(c cost) string {
		return fmt.Sprintf("%.1f (%.1f preempted)", float64(c.switches)/float64(n), float64(c.preempted)/float64(n))
	}
	var b strings.Builder
	procs := cmp.Or(loadProcs(), "Go's default")
	fmt.Fprintf(&b, "%d articles (%d feeds of 10 items on %d loopback hosts); the services with GOMAXPROCS %s and a timer slack of %s", n, feeds, max(feeds/5, 1), procs,
		cmp.Or(os.Getenv(stage.TimerSlackEnv), stage.DefaultTimerSlack.String()))
	if d := natsSlack(t); d > 0 {
		fmt.Fprintf(&b, "; nats-server with a timer slack of %s", d)
	}
	b.WriteString("\n\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "each stage alone\tCPU per article\tof it system\tcontext switches per article\tarticles/s\tpeak RSS\tnats-server CPU per article meanwhile")
	sumAlone, sumAloneNATS := rounds[0].alone.sums()
	for _, name := range []string{"fetcher", "normalizer", "tagger", "sink"} {
		c := alone[name]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f\t%d MB\t%s\n", name, perArticle(c.cpu), perArticle(c.sys), switches(c), float64(n)/aloneWall[name].Seconds(), c.maxRSS>>20, perArticle(aloneNATS[name]))
	}
	fmt.Fprintf(tw, "sum\t%s\t\t\t\t\t%s\n", perArticle(sumAlone), perArticle(sumAloneNATS))
	tw.Flush()
	sumDist := d.cpu()
	fmt.Fprintln(&b)
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "all at once\tCPU per article\tof it system\tcontext switches per article\tpeak RSS\tNATS messages sent / received per article\t")
	for _, name := range []string{"fetcher", "normalizer", "tagger", "sink", "nats-server"} {
		c := dist[name]
		m := "\t"
		if v, ok := msgs[name]; ok {
			m = fmt.Sprintf("%.1f / %.1f\t", v[0]/float64(n), v[1]/float64(n))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d MB\t%s\n", name, perArticle(c.cpu), perArticle(c.sys), switches(c), c.maxRSS>>20, m)
	}
	fmt.Fprintf(tw, "sum\t%s\t\t\t\t(%.2f × the stages alone)\t\n", perArticle(sumDist), sumDist.Seconds()/sumAlone.Seconds())
	tw.Flush()
	fmt.Fprintf(&b, "counting nats-server on both sides (its CPU while each stage ran alone): %.2f ×\n",
		sumDist.Seconds()/(sumAlone+sumAloneNATS).Seconds())
	distRate, aioRate := float64(n)/distWall.Seconds(), float64(n)/aioWall.Seconds()
	fmt.Fprintf(&b, "\ndistributed  %s wall, %.0f articles/s, %.2f cores busy, JetStream %.1f MB per 1,000 articles, the sink wrote %.1f messages a batch\n",
		distWall.Round(10*time.Millisecond), distRate, sumDist.Seconds()/distWall.Seconds(), float64(streamBytes)/float64(n)*1000/1e6, distBatch)
	fmt.Fprintf(&b, "all-in-one   %s wall, %.0f articles/s, %.2f cores busy, CPU %s per article (%s system, %s context switches), peak RSS %d MB\n",
		aioWall.Round(10*time.Millisecond), aioRate, aioCost.cpu.Seconds()/aioWall.Seconds(), perArticle(aioCost.cpu), perArticle(aioCost.sys), switches(aioCost), aioCost.maxRSS>>20)
	fmt.Fprintf(&b, "distributed / all-in-one throughput: %.2f\n", distRate/aioRate)
	if len(rounds) > 1 {
		fmt.Fprintf(&b, "\n%d rounds, each the stages alone, the distributed pipeline, then the all-in-one:\n", len(rounds))
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "round\tstages alone CPU per article\tat once\tdistributed articles/s\tall-in-one articles/s\tthroughput ratio\tCPU ratio\tcounting nats-server on both sides\t")
		var tput, cpu, cpuNATS []float64
		for i, r := range rounds {
			sum := r.dist.cpu()
			stages, nats := r.alone.sums()
			tput = append(tput, r.aioWall.Seconds()/r.dist.wall.Seconds())
			cpu = append(cpu, sum.Seconds()/stages.Seconds())
			cpuNATS = append(cpuNATS, sum.Seconds()/(stages+nats).Seconds())
			fmt.Fprintf(tw, "%d\t%s\t%s\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t\n", i+1, perArticle(stages), perArticle(sum), float64(n)/r.dist.wall.Seconds(), float64(n)/r.aioWall.Seconds(), tput[i], cpu[i], cpuNATS[i])
		}
		fmt.Fprintf(tw, "median\t\t\t\t\t%.2f\t%.2f\t%.2f\t\n", median(tput), median(cpu), median(cpuNATS))
		tw.Flush()
	}
	caught := fmt.Sprintf("its backlog worked off %s after the first window", w.backlog.Round(100*time.Millisecond))
	if w.backlog < 0 {
		caught = "its backlog NOT worked off within a minute of the first window"
	}
	// The whole way exactly, from the articles' fetch and store times
	// (the last hop); the sink's histogram, what a dashboard shows,
	// interpolates within buckets that double.
	exact := "no article fetched in the window was stored"
	if len(w.hops) > 0 && w.hops[len(w.hops)-1].name == e2e {
		h := w.hops[len(w.hops)-1]
		exact = fmt.Sprintf("p50 %.0f ms, p99 %.0f ms", h.p50.Seconds()*1000, h.p99.Seconds()*1000)
	}
	kept := ""
	if probe.rate >= sustainedAt {
		kept = ", all of it: the most it sustains is higher"
	}
	fmt.Fprintf(&b, "\non a farm that keeps publishing (feeds polled every 5 s), the pipeline stored %.0f articles/s of %.0f offered%s\n",
		probe.rate, sustainedAt, kept)
	fmt.Fprintf(&b, "fetch→stored at half of that (%.0f articles/s offered, %s; %.0f stored in the 30 s after): %s (the sink's histogram buckets say p50 %.0f ms, p99 %.0f ms)\n",
		half, caught, w.stored, exact, w.handling[e2e][0]*1000, w.handling[e2e][1]*1000)
	fmt.Fprintf(&b, "  handling one message (batch) p50 / p99:")
	for _, name := range []string{"normalizer", "tagger", "sink"} {
		fmt.Fprintf(&b, "  %s %.0f / %.0f ms", name, w.handling[name][0]*1000, w.handling[name][1]*1000)
	}
	fmt.Fprintf(&b, "\n  JetStream acknowledging a publish of the output p50 / p99:")
	for _, name := range []string{"fetcher", "normalizer", "tagger"} {
		fmt.Fprintf(&b, "  %s %.1f / %.1f ms", name, w.handling[publishKey+name][0]*1000, w.handling[publishKey+name][1]*1000)
	}
	fmt.Fprintf(&b, "\n  CPU over those 30 s, in cores (the machine has %d):", runtime.NumCPU())
	total := 0.0
	for _, name := range []string{"fetcher", "normalizer", "tagger", "sink", "nats-server"} {
		fmt.Fprintf(&b, "  %s %.2f", name, w.cores[name])
		total += w.cores[name]
	}
	fmt.Fprintf(&b, "  all %.2f", total)
	fmt.Fprintf(&b, "\n  the tagger handled %.0f messages over those 30 s, %.0f of them relinks it sent; the sink wrote %.1f messages a batch", w.taggedIn, w.relinks, w.batch)
	fmt.Fprintf(&b, "\n  between streams (queueing, handling, publishing) p50 / p99:")
	for _, h := range w.hops {
		fmt.Fprintf(&b, "  %s %.0f / %.0f ms", h.name, h.p50.Seconds()*1000, h.p99.Seconds()*1000)
	}
	fmt.Fprintln(&b)
	t.Log("\n" + b.String())
}

// loadService starts one of the four services as TestLoad runs them: as the
// Kubernetes manifests do, with one CPU each (limits.cpu: 1, from which
// Go sets GOMAXPROCS to 1), unless NEWSFLOW_LOAD_GOMAXPROCS says
// otherwise ("" for Go's own default, the machine's cores). With two
// threads of Go each on the two cores, the services at once cost 7.65
// and 9.35 ms of CPU per article in two runs, nats-server included;
// with one each, 6.43 and 7.20 (and alone 3.67 against 4.06–5.74): Go
// spins and wakes threads for work that the other processes' threads
// could do. nats-server (two CPUs in the manifests) and the all-in-one
// keep Go's default.
func loadService(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	var env []string
	if procs := loadProcs(); procs != "" {
		env = []string{"GOMAXPROCS=" + procs}
	}
	return startEnv(t, env, name, args...)
}

// loadProcs is the services' GOMAXPROCS in TestLoad: NEWSFLOW_LOAD_GOMAXPROCS,
// else "1"; "" leaves it to Go.
func loadProcs() string {
	if v, ok := os.LookupEnv("NEWSFLOW_LOAD_GOMAXPROCS"); ok {
		return v
	}
	return "1"
}

// natsSlack is the timer slack NEWSFLOW_LOAD_NATS_SLACK gives nats-server
// (0, the default: as this process has it, which the services raise for
// themselves, see stage.SlackTimers): what an operator gets with
// systemd's TimerSlackNSec, say, since nats-server cannot set its own.
func natsSlack(t *testing.T) time.Duration {
	v := os.Getenv("NEWSFLOW_LOAD_NATS_SLACK")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		t.Fatalf("NEWSFLOW_LOAD_NATS_SLACK=%q: want a duration", v)
	}
	return d
}

// median is the middle of xs (the mean of the two middle ones for an even
// count); xs is sorted in place.
func median(xs []float64) float64 {
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 0 {
		return (xs[m-1] + xs[m]) / 2
	}
	return xs[m]
}

// loadRounds is how many times TestLoad runs the distributed pipeline and
// the all-in-one in turn: NEWSFLOW_LOAD_ROUNDS, else 1.
func loadRounds(t *testing.T) int {
	if v := os.Getenv("NEWSFLOW_LOAD_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "NEWSFLOW_LOAD_ROUNDS")
		require.Positive(t, n, "NEWSFLOW_LOAD_ROUNDS")
		return n
	}
	return 1
}

// round is one run of the stages alone, one of the distributed pipeline
// and one of the all-in-one.
type round struct {
	alone   aloneRun
	dist    distributed
	aioWall time.Duration
	aio     cost
}

// distributed is what one run of the services at once cost.
type distributed struct {
	cost        map[string]cost       // by process, nats-server included
	msgs        map[string][2]float64 // name → messages sent, received
	wall        time.Duration
	streamBytes uint64  // in the streams between the stages
	batch       float64 // messages the sink wrote a batch
}

// cpu is the CPU the processes spent, nats-server's included.
func (d distributed) cpu() (sum time.Duration) {
	for _, c := range d.cost {
		sum += c.cpu
	}
	return sum
}

// runDistributed runs nats-server and the four services as processes over
// the corpus the fetcher's arguments name (n articles), profiling them
// into profDir unless it is "", and returns what they cost.
func runDistributed(t *testing.T, fetchArgs []string, n int, profDir string) distributed {
	d := distributed{cost: map[string]cost{}}
	addr, store := freeAddr(t), t.TempDir()
	httpAddrs := map[string]string{}
	for _, name := range []string{"fetcher", "normalizer", "tagger", "sink", "nats-server"} {
		httpAddrs[name] = freeAddr(t)
	}
	// nats-server's monitoring port tells the messages each
	// service sent and received (its connections are named).
	monitor := freeAddr(t)
	natsConf, pprof := []string{"http: " + monitor}, []string(nil)
	if profDir != "" {
		_, port, _ := net.SplitHostPort(httpAddrs["nats-server"])
		natsConf, pprof = append(natsConf, "prof_port: "+port), []string{"-pprof"}
	}
	nats := natsAt(t, addr, store, natsConf...)
	url := "nats://" + addr
	js := jetStream(t, url)
	db := filepath.Join(t.TempDir(), "newsflow.db")
	procs := map[string]*proc{}
	args := func(name string, more ...string) []string {
		return append(append([]string{"-nats", url, "-http", httpAddrs[name]}, pprof...), more...)
	}
	procs["sink"] = loadService(t, "sink", args("sink", "-store", "sqlite:"+db)...)
	procs["tagger"] = loadService(t, "tagger", args("tagger")...)
	procs["normalizer"] = loadService(t, "normalizer", args("normalizer")...)
	time.Sleep(time.Second) // the consumers exist before the first page
	var profiled func()
	if profDir != "" {
		profiled = profile(t, profDir, httpAddrs)
	}
	began := time.Now()
	procs["fetcher"] = loadService(t, "fetcher", args("fetcher", fetchArgs...)...)
	require.NoError(t, procs["fetcher"].wait(t, 5*time.Minute), "fetcher -once")
	require.Eventually(t, func() bool {
		return consumersIdle(t, js) && metric(t, httpAddrs["tagger"], "newsflow_story_relinks_pending") == 0
	}, 10*time.Minute, 50*time.Millisecond, "the pipeline to work through the corpus")
	d.wall = time.Since(began)
	if profiled != nil {
		profiled()
	}
	d.batch = sinkBatch(t, httpAddrs["sink"])
	for _, top := range stage.Pipeline {
		if top.Output == "" {
			continue
		}
		st, err := js.Stream(t.Context(), stage.StreamFor(top.Output))
		require.NoError(t, err)
		info, err := st.Info(t.Context())
		require.NoError(t, err)
		d.streamBytes += info.State.Bytes
	}
	d.msgs = connMsgs(t, monitor)
	for _, name := range []string{"normalizer", "tagger", "sink"} {
		procs[name].stop(t)
	}
	nats.stop(t)
	procs["nats-server"] = nats
	for name, p := range procs {
		d.cost[name] = p.usage()
	}
	require.Len(t, storedURLs(t, db), n, "distributed: every article stored")
	return d
}

// runAllInOne runs newsflow run -once over the corpus the fetcher's
// arguments name (n articles), profiled into profDir unless it is "", and
// returns its wall time and cost.
func runAllInOne(t *testing.T, fetchArgs []string, n int, profDir string) (time.Duration, cost) {
	data := t.TempDir()
	aioArgs := []string{"run", "-data", data, "-http", "127.0.0.1:0", "-progress", "0"}
	var profiled func()
	if profDir != "" {
		addr := freeAddr(t)
		aioArgs = []string{"run", "-data", data, "-http", addr, "-pprof", "-progress", "0"}
		profiled = profile(t, profDir, map[string]string{"all-in-one": addr})
	}
	began := time.Now()
	aio := start(t, "newsflow", append(aioArgs, fetchArgs...)...)
	require.NoError(t, aio.wait(t, 10*time.Minute), "newsflow run -once")
	wall := time.Since(began)
	if profiled != nil {
		profiled()
	}
	c := aio.usage()
	require.Len(t, storedURLs(t, filepath.Join(data, "newsflow.db")), n, "all-in-one: every article stored")
	return wall, c
}

// sinkCounts returns the messages the sink at addr has handled and the
// batches it has written them in.
func sinkCounts(t *testing.T, addr string) (msgs, batches float64) {
	return metric(t, addr, "newsflow_batch_messages_sum"), metric(t, addr, "newsflow_batch_messages_count")
}

// sinkBatch is how many messages the sink at addr has written a batch.
func sinkBatch(t *testing.T, addr string) float64 {
	msgs, batches := sinkCounts(t, addr)
	return msgs / max(batches, 1)
}

// profile takes one-second CPU profiles of every process in addrs (name →
// the address it serves /debug/pprof/ on; nats-server's is its prof_port)
// into dir, one after another, until the function it returns is called.
// A process not (or no longer) serving is tried again 50 ms later.
func profile(t *testing.T, dir string, addrs map[string]string) (stop func()) {
	require.NoError(t, os.MkdirAll(dir, 0o755))
	done := make(chan struct{})
	var wg sync.WaitGroup
	for name, addr := range addrs {
		wg.Go(func() {
			for i := 0; ; {
				select {
				case <-done:
					return
				default:
				}
				resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=1")
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode == http.StatusOK {
					i++
					_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", name, i)), b, 0o644)
				}
			}
		})
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// connMsgs reads from nats-server's monitoring address the messages each
// client connection named newsflow-NAME sent and received (closed
// connections included), by NAME.
func connMsgs(t *testing.T, monitor string) map[string][2]float64 {
	resp, err := http.Get("http://" + monitor + "/connz?state=all&limit=1000")
	require.NoError(t, err)
	defer resp.Body.Close()
	var connz struct {
		Conns []struct {
			Name    string  `json:"name"`
			InMsgs  float64 `json:"in_msgs"`
			OutMsgs float64 `json:"out_msgs"`
		} `json:"connections"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&connz))
	out := map[string][2]float64{}
	for _, c := range connz.Conns {
		if name, ok := strings.CutPrefix(c.Name, "newsflow-"); ok {
			v := out[name]
			// The server's in is what the client sent.
			out[name] = [2]float64{v[0] + c.InMsgs, v[1] + c.OutMsgs}
		}
	}
	return out
}

// hop is the time articles took from one point of the pipeline to the
// next.
type hop struct {
	name     string
	p50, p99 time.Duration
}

// hopTimes follows the articles fetched between from and to: when each was
// fetched and first stored (its first version's times in the store) and
// reached every stream between (the time JetStream stored its first
// message there), and returns the quantiles of each step, and of the whole
// way.
func hopTimes(t *testing.T, js jetstream.JetStream, db string, from, to time.Time) []hop {
	st, err := store.OpenReadOnly(t.Context(), "sqlite:"+db)
	require.NoError(t, err)
	first, err := st.FirstStored(t.Context())
	st.Close()
	require.NoError(t, err)
	fetched, stored := map[string]time.Time{}, map[string]time.Time{}
	for id, r := range first {
		fetched[id], stored[id] = r.Fetched, r.Stored
	}
	points, names := []map[string]time.Time{fetched}, []string{"fetch"}
	for _, top := range stage.Pipeline {
		if top.Output != "" {
			points = append(points, streamTimes(t, js, stage.StreamFor(top.Output)))
			names = append(names, top.Output)
		}
	}
	points, names = append(points, stored), append(names, "stored")
	var out []hop
	step := func(i, j int) {
		var ds []time.Duration
		for id, at := range points[0] {
			a, okA := points[i][id]
			b, okB := points[j][id]
			if okA && okB && !at.Before(from) && at.Before(to) {
				ds = append(ds, b.Sub(a))
			}
		}
		if len(ds) == 0 {
			return
		}
		slices.Sort(ds)
		name := strings.TrimPrefix(names[i], "articles.") + "→" + strings.TrimPrefix(names[j], "articles.")
		out = append(out, hop{name, ds[len(ds)/2], ds[len(ds)*99/100]})
	}
	for i := 1; i < len(points); i++ {
		step(i-1, i)
	}
	// And the whole way, exactly (the sink's histogram has coarse buckets).
	step(0, len(points)-1)
	return out
}

// streamTimes reads when each article's first message reached a stream.
func streamTimes(t *testing.T, js jetstream.JetStream, stream string) map[string]time.Time {
	c, err := js.OrderedConsumer(t.Context(), stream, jetstream.OrderedConsumerConfig{HeadersOnly: true})
	require.NoError(t, err)
	info, err := c.Info(t.Context())
	require.NoError(t, err)
	out := map[string]time.Time{}
	for left := info.NumPending; left > 0; {
		batch, err := c.Fetch(int(min(left, 1000)), jetstream.FetchMaxWait(10*time.Second))
		require.NoError(t, err)
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			require.NoError(t, err)
			id := m.Headers().Get(stage.HeaderArticleID)
			if at, ok := out[id]; !ok || md.Timestamp.Before(at) {
				out[id] = md.Timestamp
			}
			left = md.NumPending
		}
		require.NoError(t, batch.Error())
		require.Positive(t, got, "messages of %s", stream)
	}
	return out
}

// storedURLs reads the URLs of the articles in a SQLite store.
func storedURLs(t *testing.T, db string) map[string]bool {
	st, err := store.OpenReadOnly(t.Context(), "sqlite:"+db)
	require.NoError(t, err)
	defer st.Close()
	urls := map[string]bool{}
	require.NoError(t, st.Each(t.Context(), func(a *store.Article) error {
		urls[a.URL] = true
		return nil
	}))
	return urls
}

// inf is the +Inf bucket's key in a histogram read by histogram.
var inf = math.Inf(1)

// histogram reads a histogram's cumulative bucket counts from a service's
// /metrics, by upper bound.
func histogram(t *testing.T, addr, name string) map[float64]float64 {
	t.Helper()
	out := map[float64]float64{}
	for _, line := range scrape(addr, name+"_bucket") {
		_, rest, _ := strings.Cut(line, `le="`)
		le, rest, _ := strings.Cut(rest, `"`)
		bound, err := strconv.ParseFloat(le, 64)
		require.NoError(t, err, line)
		fields := strings.Fields(rest)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		require.NoError(t, err, line)
		out[bound] += v // summed over the label sets
	}
	return out
}

// quantile estimates the q-quantile from cumulative buckets as Prometheus's
// histogram_quantile does: linear within the bucket that holds it.
func quantile(buckets map[float64]float64, q float64) float64 {
	bounds := slices.Sorted(maps.Keys(buckets))
	total := buckets[inf]
	if total == 0 {
		return 0
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for _, b := range bounds {
		if buckets[b] >= rank {
			if math.IsInf(b, 1) {
				return lower
			}
			return lower + (b-lower)*(rank-below)/(buckets[b]-below)
		}
		lower, below = b, buckets[b]
	}
	return lower
}

// e2e names the whole way, fetch to stored, among a window's hops and
// histograms.
const e2e = "fetch→stored"

// publishKey prefixes a process's name for its publish acknowledgement
// times among a window's histograms.
const publishKey = "publish:"

// window is what runWindow measured.
type window struct {
	stored   float64               // articles stored over the span measured
	rate     float64               // of them a second
	backlog  time.Duration         // to work off the first window's backlog; -1: not within a minute
	handling map[string][2]float64 // name (or e2e, or publishKey+name) → p50, p99 of its handling (publish) time, in seconds
	cores    map[string]float64    // process → CPU used over the span, in cores
	hops     []hop
	relinks  float64 // relinks the tagger sent over the span
	taggedIn float64 // messages the tagger handled over the span
	batch    float64 // messages the sink wrote a batch over the span
}

// runWindow runs nats-server and the four services against a farm that
// publishes about rate items a second, over feeds of items items polled
// every 5 s, and measures them over span once the first window (items a
// feed at once) is stored and, if catchUp, once what was published
// meanwhile is worked off too (a minute at most). With profDir, the
// services are CPU-profiled over the span into profDir/latency.
func runWindow(t *testing.T, rate float64, items int, span time.Duration, catchUp bool, profDir string) window {
	w := window{handling: map[string][2]float64{}, cores: map[string]float64{}}
	const period = 5 * time.Second
	lfeeds := max(int(rate*period.Seconds()), 1)
	lfarm, err := soak.StartFarm(soak.FarmConfig{Feeds: lfeeds, Hosts: max(lfeeds/5, 1), Items: items, PeriodMin: period, PeriodMax: period, Seed: 9})
	require.NoError(t, err)
	t.Cleanup(lfarm.Close)
	lfile := filepath.Join(t.TempDir(), "feeds.txt")
	require.NoError(t, os.WriteFile(lfile, []byte(strings.Join(lfarm.FeedURLs(), "\n")+"\n"), 0o644))
	addr, store := freeAddr(t), t.TempDir()
	lprocs := map[string]*proc{"nats-server": natsAt(t, addr, store)}
	url := "nats://" + addr
	httpAddrs := map[string]string{}
	for _, name := range []string{"normalizer", "tagger", "sink"} {
		httpAddrs[name] = freeAddr(t)
	}
	fetcherAddr := freeAddr(t)
	var pprof []string
	if profDir != "" {
		pprof = []string{"-pprof"}
	}
	largs := func(addr string, more ...string) []string {
		return append(append([]string{"-nats", url, "-http", addr}, pprof...), more...)
	}
	sinkAddr, ldb := httpAddrs["sink"], filepath.Join(t.TempDir(), "newsflow.db")
	lprocs["sink"] = loadService(t, "sink", largs(sinkAddr, "-store", "sqlite:"+ldb)...)
	lprocs["tagger"] = loadService(t, "tagger", largs(httpAddrs["tagger"])...)
	lprocs["normalizer"] = loadService(t, "normalizer", largs(httpAddrs["normalizer"])...)
	lprocs["fetcher"] = loadService(t, "fetcher", largs(fetcherAddr, "-feeds-file", lfile, "-allow-net", "127.0.0.0/8", "-host-rate", "0",
		"-interval", "5s", "-min-interval", "5s")...)
	// The first window (items a feed) is a burst: measure after it.
	// (Not "once idle": the farm keeps publishing, so the consumers
	// and the relinks need not be idle at any one moment.)
	require.Eventually(t, func() bool {
		return metric(t, sinkAddr, "newsflow_messages_total", `outcome="ok"`) >= float64(lfeeds*items)
	}, 5*time.Minute, 100*time.Millisecond, "the first window to be stored")
	// What was published meanwhile is a backlog too, and so are the
	// relinks the first window's arrival order caused: wait (a minute
	// at most) until no consumer holds more than a second's worth and
	// the tagger has no relink waiting.
	js := jetStream(t, url)
	caughtUp := func() bool {
		if metric(t, httpAddrs["tagger"], "newsflow_story_relinks_pending") != 0 {
			return false
		}
		for _, c := range stage.Consumers() {
			if n, ok := consumerBacklog(t, js, stage.StreamFor(c.Input), c.Name); !ok || float64(n) > max(rate, 20) {
				return false
			}
		}
		return true
	}
	waited := time.Now()
	for catchUp && !caughtUp() && time.Since(waited) < time.Minute {
		time.Sleep(250 * time.Millisecond)
	}
	if w.backlog = time.Since(waited); catchUp && !caughtUp() {
		w.backlog = -1
	}
	// The same window of each consumer's handling time (handle,
	// publish, ack): what the end-to-end time holds besides queueing.
	hist := func() map[string]map[float64]float64 {
		h := map[string]map[float64]float64{e2e: histogram(t, sinkAddr, "newsflow_fetch_to_stored_seconds")}
		for name, a := range httpAddrs {
			h[name] = histogram(t, a, "newsflow_processing_duration_seconds")
		}
		for name, a := range map[string]string{"fetcher": fetcherAddr, "normalizer": httpAddrs["normalizer"], "tagger": httpAddrs["tagger"]} {
			h[publishKey+name] = histogram(t, a, "newsflow_publish_duration_seconds")
		}
		return h
	}
	cpuAt := func() map[string]time.Duration {
		m := map[string]time.Duration{}
		for name, p := range lprocs {
			m[name] = p.cpuNow()
		}
		return m
	}
	var profiled func()
	if profDir != "" {
		profiled = profile(t, filepath.Join(profDir, "latency"), map[string]string{
			"fetcher": fetcherAddr, "normalizer": httpAddrs["normalizer"], "tagger": httpAddrs["tagger"], "sink": sinkAddr})
	}
	relinked := func() float64 {
		return metric(t, httpAddrs["tagger"], "newsflow_story_relinks_total", `outcome="sent"`)
	}
	tagged := func() float64 {
		return metric(t, httpAddrs["tagger"], "newsflow_messages_total", `outcome="ok"`)
	}
	relinksFrom, taggedFrom := relinked(), tagged()
	sinkMsgs, sinkBatches := sinkCounts(t, sinkAddr)
	before, cpuFrom, from := hist(), cpuAt(), time.Now()
	time.Sleep(span)
	after, cpuTo, to := hist(), cpuAt(), time.Now()
	w.relinks, w.taggedIn = relinked()-relinksFrom, tagged()-taggedFrom
	msgsTo, batchesTo := sinkCounts(t, sinkAddr)
	w.batch = (msgsTo - sinkMsgs) / max(batchesTo-sinkBatches, 1)
	if profiled != nil {
		profiled()
	}
	for name := range lprocs {
		w.cores[name] = (cpuTo[name] - cpuFrom[name]).Seconds() / to.Sub(from).Seconds()
	}
	for name, h := range after {
		for le, c := range h {
			h[le] = c - before[name][le]
		}
		w.handling[name] = [2]float64{quantile(h, 0.5), quantile(h, 0.99)}
	}
	w.stored = after[e2e][inf]
	w.rate = w.stored / to.Sub(from).Seconds()
	w.hops = hopTimes(t, js, ldb, from, to)
	require.Positive(t, w.stored, "articles stored while the farm published")
	// Stopped before the next run: a window's processes left working off
	// a backlog would take the next one's cores.
	for _, name := range []string{"fetcher", "normalizer", "tagger", "sink", "nats-server"} {
		lprocs[name].stop(t)
	}
	lfarm.Close()
	return w
}

// aloneRun is what way 1 measured: each stage alone, over its input
// stream filled by the stage before (the others stopped).
type aloneRun struct {
	cost map[string]cost          // by stage
	wall map[string]time.Duration // until the stage had worked off its input
	nats map[string]time.Duration // nats-server's CPU meanwhile
}

// sums is the stages' CPU and nats-server's CPU meanwhile, each summed
// over the four stages.
func (a aloneRun) sums() (stages, nats time.Duration) {
	for name, c := range a.cost {
		stages += c.cpu
		nats += a.nats[name]
	}
	return stages, nats
}

// runAlone runs the fetcher over the corpus, then each consuming stage
// over the stream the one before it filled, one at a time, and every
// article must be stored.
func runAlone(t *testing.T, fetchArgs []string, n int) aloneRun {
	t.Helper()
	r := aloneRun{cost: map[string]cost{}, wall: map[string]time.Duration{}, nats: map[string]time.Duration{}}
	addr, store := freeAddr(t), t.TempDir()
	nats := natsAt(t, addr, store)
	url := "nats://" + addr
	js := jetStream(t, url)
	db := filepath.Join(t.TempDir(), "newsflow.db")
	began, natsFrom := time.Now(), nats.cpuNow()
	f := loadService(t, "fetcher", append([]string{"-nats", url, "-http", freeAddr(t)}, fetchArgs...)...)
	require.NoError(t, f.wait(t, 5*time.Minute), "fetcher -once")
	r.wall["fetcher"] = time.Since(began)
	r.cost["fetcher"] = f.usage()
	r.nats["fetcher"] = nats.cpuNow() - natsFrom
	require.Equal(t, uint64(n), streamMsgs(t, js, stage.StreamFor(stage.SubjectFetched)))
	for _, st := range stage.Consumers() {
		a := freeAddr(t)
		args := []string{"-nats", url, "-http", a}
		if st.Name == "sink" {
			args = append(args, "-store", "sqlite:"+db)
		}
		began, natsFrom := time.Now(), nats.cpuNow()
		p := loadService(t, st.Name, args...)
		require.Eventually(t, func() bool {
			return consumerIdle(t, js, stage.StreamFor(st.Input), st.Name) &&
				(st.Name != "tagger" || metric(t, a, "newsflow_story_relinks_pending") == 0)
		}, 10*time.Minute, 50*time.Millisecond, "%s alone to work through its input", st.Name)
		r.wall[st.Name] = time.Since(began)
		p.stop(t)
		r.cost[st.Name] = p.usage()
		r.nats[st.Name] = nats.cpuNow() - natsFrom
		if st.Output != "" {
			require.GreaterOrEqual(t, streamMsgs(t, js, stage.StreamFor(st.Output)), uint64(n), st.Name)
		}
	}
	nats.stop(t)
	require.Len(t, storedURLs(t, db), n, "stages alone: every article stored")
	return r
}
