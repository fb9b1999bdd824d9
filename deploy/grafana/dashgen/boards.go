package dashgen

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// overview is the pipeline at a glance.
func overview() *board {
	bd := newBoard("newsflow-overview", "newsflow / pipeline overview",
		"Articles flowing through fetcher, normalizer, tagger and sink: throughput, backlog, dead letters, latency and freshness.")
	bd.series(12, "Articles per second by stage", "Messages each stage handled successfully; the fetcher's line is its new publishes.", "ops",
		q(`sum by (stage) (rate(newsflow_messages_total{outcome="ok"}[$__rate_interval]))`, "{{stage}}"),
		q(`sum by (stage) (rate(newsflow_published_total{stage="fetcher", duplicate="false"}[$__rate_interval]))`, "{{stage}}"))
	bd.series(12, "Backlog per consumer (pending + ack-pending)", "The durable consumer's lag, what KEDA scales on.", "short",
		q(`max by (stage) (newsflow_consumer_pending_messages) + max by (stage) (newsflow_consumer_ack_pending_messages)`, "{{stage}}"))
	bd.series(12, "Dead letters per second", "Messages each stage gave up on, by reason; they wait in ARTICLES_DEAD for newsflow dead.", "ops",
		q(`sum by (stage, reason) (rate(newsflow_dead_letters_total[$__rate_interval]))`, "{{stage}}: {{reason}}"))
	bd.series(12, "Error ratio (retried + dead-lettered)", "Share of each stage's handled messages that were retried or dead-lettered.", "percentunit",
		q(`sum by (stage) (rate(newsflow_messages_total{outcome=~"retried|dead_lettered"}[$__rate_interval])) / sum by (stage) (rate(newsflow_messages_total[$__rate_interval]))`, "{{stage}}"))
	bd.heat(12, "Fetch to stored latency", "Time from fetching an article's page to its commit in the store.",
		q(`sum by (le) (increase(newsflow_fetch_to_stored_seconds_bucket[$__rate_interval]))`, "{{le}}"))
	bd.heat(12, "Freshness: publication to stored", "Time from an article's publication (as the site states it) to its storage.",
		q(`sum by (le) (increase(newsflow_publication_to_stored_seconds_bucket[$__rate_interval]))`, "{{le}}"))
	bd.series(12, "Fetch to stored p50 / p99", "Quantiles of the time from fetching a page to its commit in the store.", "s",
		q(`histogram_quantile(0.5, sum by (le) (rate(newsflow_fetch_to_stored_seconds_bucket[$__rate_interval])))`, "p50"),
		q(`histogram_quantile(0.99, sum by (le) (rate(newsflow_fetch_to_stored_seconds_bucket[$__rate_interval])))`, "p99"))
	bd.series(12, "Stage processing time p99", "How long each stage takes over one message (or one write batch, for the sink).", "s",
		q(`histogram_quantile(0.99, sum by (stage, le) (rate(newsflow_processing_duration_seconds_bucket[$__rate_interval])))`, "{{stage}}"))
	bd.stat(8, "Replicas consuming", "Replicas of each stage that are ready and pulling from their input.", "short",
		q(`sum by (stage) (newsflow_stage_ready)`, "{{stage}}"))
	bd.series(8, "Rows written per second", "Store writes by outcome: inserted, updated, duplicate (already stored) or stale (an older version).", "ops",
		q(`sum by (outcome) (rate(newsflow_store_rows_written_total[$__rate_interval]))`, "{{outcome}}"))
	bd.series(8, "Topics assigned per second", "The ten top-level IPTC Media Topics the tagger assigns most.", "ops",
		q(`topk(10, sum by (topic) (rate(newsflow_tags_assigned_total[$__rate_interval])))`, "{{topic}}"))
	bd.series(8, "Story links per second", "How the tagger groups articles: new_story, same_story, duplicate, derived; story-stream records it could not read; and articles sent through the tagger again because an earlier article arrived after them (relinked: sent, duplicate, gone, failed).", "ops",
		q(`sum by (link) (rate(newsflow_story_links_total[$__rate_interval]))`, "{{link}}"),
		q(`sum(rate(newsflow_story_records_unreadable_total[$__rate_interval]))`, "unreadable story records"),
		q(`sum by (outcome) (rate(newsflow_story_relinks_total[$__rate_interval]))`, "relinked: {{outcome}}"))
	bd.series(8, "Relinks waiting", "Articles the tagger replicas will send through the tagger again once they have caught up with their input (an earlier article arrived after them).", "short",
		q(`sum(newsflow_story_relinks_pending)`, "waiting"))
	bd.stat(8, "Article store up (sink replicas)", "1 while the sink reaches its store (SQLite or PostgreSQL); the lowest and the count of replicas reporting.", "none",
		q(`min(newsflow_store_up)`, "lowest"),
		q(`sum(newsflow_store_up)`, "replicas up"))
	bd.series(8, "Rows deleted by retention per second", "Articles the sink deleted as older than -store-max-age.", "ops",
		q(`sum(rate(newsflow_store_rows_deleted_total[$__rate_interval]))`, "deleted"))
	return bd
}

// stageBoard is one stage in detail.
func stageBoard() *board {
	stage := labelVariable("stage", "newsflow_messages_total", ScopeLabels, ".*").Multi(false).IncludeAll(false).
		Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: ptr("normalizer")}, Value: dashboard.StringOrArrayOfString{String: ptr("normalizer")}})
	bd := newBoard("newsflow-stage", "newsflow / stage",
		"One stage in detail: pick it with the stage variable. Stream and consumer state come from NATS's prometheus-nats-exporter.", stage)
	bd.series(12, "Messages by outcome", "The stage's messages by outcome: ok, duplicate, retried, dead_lettered.", "ops",
		q(`sum by (outcome) (rate(newsflow_messages_total{stage="$stage"}[$__rate_interval]))`, "{{outcome}}"))
	bd.series(12, "Processing time", "Quantiles of the time the stage takes over one message (one write batch for the sink).", "s",
		q(`histogram_quantile(0.5, sum by (le) (rate(newsflow_processing_duration_seconds_bucket{stage="$stage"}[$__rate_interval])))`, "p50"),
		q(`histogram_quantile(0.9, sum by (le) (rate(newsflow_processing_duration_seconds_bucket{stage="$stage"}[$__rate_interval])))`, "p90"),
		q(`histogram_quantile(0.99, sum by (le) (rate(newsflow_processing_duration_seconds_bucket{stage="$stage"}[$__rate_interval])))`, "p99"))
	bd.series(12, "Consumer lag (ours)", "Pending and ack-pending messages of the stage's durable consumer, as the stage reads them.", "short",
		q(`max(newsflow_consumer_pending_messages{stage="$stage"})`, "pending"),
		q(`max(newsflow_consumer_ack_pending_messages{stage="$stage"})`, "ack pending"))
	bd.series(12, "Consumer state (NATS exporter)", "From prometheus-nats-exporter (-jsz all): the consumer named after the stage.", "short",
		q(`max(jetstream_consumer_num_pending{consumer_name="$stage"})`, "pending"),
		q(`max(jetstream_consumer_num_ack_pending{consumer_name="$stage"})`, "ack pending"),
		q(`max(jetstream_consumer_num_redelivered{consumer_name="$stage"})`, "redelivered"))
	bd.series(12, "Streams (NATS exporter)", "Messages held by each newsflow stream.", "short",
		q(`max by (stream_name) (jetstream_stream_total_messages{stream_name=~"ARTICLES_.*"})`, "{{stream_name}}"))
	bd.series(12, "Stream fill (ours)", "Bytes each article stream holds as a share of its -stream-max-bytes bound; its consuming stage trims settled history above 75%, and a full stream refuses new articles.", "percentunit",
		q(`max by (stream) (newsflow_stream_bytes) / max by (stream) (newsflow_stream_max_bytes > 0)`, "{{stream}}"))
	bd.series(12, "Dead letters by reason", "Messages the stage gave up on, by reason.", "ops",
		q(`sum by (reason) (rate(newsflow_dead_letters_total{stage="$stage"}[$__rate_interval]))`, "{{reason}}"))
	bd.series(12, "Publishes", "What the stage published, and whether the stream dropped it as a duplicate; failed publishes.", "ops",
		q(`sum by (duplicate) (rate(newsflow_published_total{stage="$stage"}[$__rate_interval]))`, "duplicate={{duplicate}}"),
		q(`sum(rate(newsflow_publish_errors_total{stage="$stage"}[$__rate_interval]))`, "errors"))
	bd.series(12, "Publish acknowledgement time", "Quantiles of the time from a publish of the stage's output to JetStream's acknowledgement: the wait every message's handling holds. When it grows, NATS (its storage, its CPU) is slow, not the stage.", "s",
		q(`histogram_quantile(0.5, sum by (le) (rate(newsflow_publish_duration_seconds_bucket{stage="$stage"}[$__rate_interval])))`, "p50"),
		q(`histogram_quantile(0.99, sum by (le) (rate(newsflow_publish_duration_seconds_bucket{stage="$stage"}[$__rate_interval])))`, "p99"))
	bd.series(12, "In flight", "Messages the stage's replicas are handling now.", "short",
		q(`sum(newsflow_messages_in_flight{stage="$stage"})`, "in flight"))
	bd.stat(12, "Replicas ready / reporting", "Replicas of the stage that are ready, and all that report metrics.", "short",
		q(`sum(newsflow_stage_ready{stage="$stage"})`, "ready"),
		q(`count(newsflow_stage_ready{stage="$stage"})`, "reporting"))
	bd.series(12, "CPU per pod", "CPU cores the stage's pods use (Go process metrics; label service from the Kubernetes scrape config).", "none",
		q(`sum by (pod) (rate(process_cpu_seconds_total{service="$stage"}[$__rate_interval]))`, "{{pod}}"))
	bd.series(12, "Memory per pod", "Resident memory of the stage's pods (Go process metrics; label service from the Kubernetes scrape config).", "bytes",
		q(`sum by (pod) (process_resident_memory_bytes{service="$stage"})`, "{{pod}}"))
	return bd
}

// fetcherBoard is the fetcher's requests and feeds.
func fetcherBoard() *board {
	bd := newBoard("newsflow-fetcher", "newsflow / fetcher",
		"Feeds and pages the fetcher requests: status classes, conditional-GET hits, bytes, refusals and per-feed errors.")
	bd.series(12, "Requests by status class", "HTTP requests for feeds and pages, by the class of their status.", "reqps",
		q(`sum by (kind, status_class) (rate(newsflow_fetch_requests_total[$__rate_interval]))`, "{{kind}} {{status_class}}"))
	bd.series(12, "Conditional-GET hits (304) per feed request", "Share of feed requests answered 304 Not Modified: what conditional GET saves.", "percentunit",
		q(`sum(rate(newsflow_fetch_not_modified_total[$__rate_interval])) / sum(rate(newsflow_fetch_requests_total{kind="feed"}[$__rate_interval]))`, "304 share"))
	bd.series(12, "Bytes fetched", "Bytes received for feeds and pages.", "Bps",
		q(`sum by (kind) (rate(newsflow_fetch_bytes_total[$__rate_interval]))`, "{{kind}}"))
	bd.series(12, "Feed polls by outcome", "Feed polls by outcome: new items, nothing new, not modified, failed.", "ops",
		q(`sum by (outcome) (rate(newsflow_feed_polls_total[$__rate_interval]))`, "{{outcome}}"))
	bd.series(12, "Articles discovered", "Items the feeds listed that the fetcher had not seen before.", "ops",
		q(`sum(rate(newsflow_articles_discovered_total[$__rate_interval]))`, "new items"))
	bd.series(12, "Refused pages by reason", "Pages the fetcher would not fetch or keep: too large, wrong type, address not allowed.", "ops",
		q(`sum by (reason) (rate(newsflow_fetch_refused_total[$__rate_interval]))`, "{{reason}}"))
	bd.series(12, "Fetch errors by class", "Failed requests by class (timeout, DNS, TLS, HTTP status), and pages robots.txt denied.", "ops",
		q(`sum by (kind, class) (rate(newsflow_fetch_errors_total[$__rate_interval]))`, "{{kind}} {{class}}"),
		q(`sum(rate(newsflow_robots_denied_total[$__rate_interval]))`, "robots denied"))
	bd.stat(12, "Feeds by health", "Feeds by health: ok, failing (recent errors), or backing off.", "short",
		q(`sum by (health) (newsflow_feeds)`, "{{health}}"))
	bd.table(24, "Errors per feed (top 20 over the time range)", "The feeds with the most failed polls in the dashboard's time range, by source and error class.", "short",
		q(`topk(20, sum by (source, class) (increase(newsflow_feed_errors_total[$__range])))`, "{{source}} {{class}}"))
	bd.series(24, "Poll lag p90", "How late a feed poll ran after it was due.", "s",
		q(`histogram_quantile(0.9, sum by (le) (rate(newsflow_feed_poll_lag_seconds_bucket[$__rate_interval])))`, "p90"))
	return bd
}
