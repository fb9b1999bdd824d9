package tagger

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/newsflow/newsflow/services/tagger/internal/rank"
	"github.com/newsflow/newsflow/stage"
)

type metrics struct {
	topics         *prometheus.CounterVec
	links          *prometheus.CounterVec
	badRecords     prometheus.Counter
	relinks        *prometheus.CounterVec
	relinksPending prometheus.Gauge
	relinkTagging  *prometheus.CounterVec
}

// topicsAssigned is the name of the topics counter, which TopicCounts reads.
const topicsAssigned = "newsflow_tags_assigned_total"

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		topics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: topicsAssigned,
			Help: "Topics assigned to articles, by IPTC Media Topic label (top-level topics only).",
		}, []string{"topic"}),
		links: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "story_links_total",
			Help: "Articles grouped, by link: new_story, same_story, duplicate, derived.",
		}, []string{"link"}),
		badRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "story_records_unreadable_total",
			Help: "Records of the story stream that could not be decoded and were skipped.",
		}),
		relinks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "story_relinks_total",
			Help: "Articles sent through the tagger again because an article that arrived after them changed their story links, by outcome: sent, duplicate (another replica sent it already), gone (the input stream no longer holds it: its link stays as it was), failed, superseded (a later message of the article was handled first: the relink is dropped).",
		}, []string{"outcome"}),
	}
	m.relinkTagging = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "newsflow", Name: "story_relink_tagging_total",
		Help: "Relinked articles by how their tags were had: reused (the result of their first pass, still held) or tagged (tagged again).",
	}, []string{"result"})
	for _, r := range []string{"reused", "tagged"} {
		m.relinkTagging.WithLabelValues(r)
	}
	m.relinksPending = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "newsflow", Name: "story_relinks_pending",
		Help: "Articles this tagger replica will relink once it has caught up with its input.",
	})
	for _, o := range []string{relinkSent, relinkDuplicate, relinkGone, relinkFailed, relinkSuperseded} {
		m.relinks.WithLabelValues(o)
	}
	if err := stage.Register(reg, m.topics, m.links, m.badRecords, m.relinks, m.relinksPending, m.relinkTagging); err != nil {
		return nil, err
	}
	return m, nil
}

// TopicCount is how many articles a tagger assigned a top-level topic to.
type TopicCount struct {
	Label string
	N     float64
}

// TopicCounts reads, from a process's registry, the topics its tagger
// assigned, most first (ties by label); none without a tagger.
func TopicCounts(g prometheus.Gatherer) []TopicCount {
	families, err := g.Gather()
	if err != nil {
		return nil
	}
	counts := map[string]float64{}
	for _, f := range families {
		if f.GetName() == topicsAssigned {
			for _, m := range f.GetMetric() {
				counts[label(m, "topic")] += m.GetCounter().GetValue()
			}
		}
	}
	out := make([]TopicCount, 0, len(counts))
	for _, l := range rank.Keys(counts) {
		out = append(out, TopicCount{l, counts[l]})
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
