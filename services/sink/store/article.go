package store

import "time"

// Topic is one subject an article was tagged with, usually an IPTC media
// topic ("medtop:11000000", "politics").
type Topic struct {
	Code  string  `json:"code"`
	Label string  `json:"label"`
	Score float64 `json:"score"`
	Level int     `json:"level"`
}

// Entity is a person, organisation or place named in an article.
type Entity struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`              // person, organisation, place
	Subtype  string   `json:"subtype,omitempty"` // for places: country, region, city
	Mentions int      `json:"mentions"`
	Aliases  []string `json:"aliases"`
}

// Story links an article to the story (an event across outlets) it belongs
// to, and to the article it copies or derives from.
type Story struct {
	ID          string  `json:"id,omitempty"`
	DuplicateOf string  `json:"duplicate_of,omitempty"`
	DerivedFrom string  `json:"derived_from,omitempty"`
	Overlap     float64 `json:"overlap,omitempty"`
}

// Version is one content version of an article (one content hash).
// StoredAt is when the version was first stored: the same content written
// again (a replay, a story relink, a refetch) leaves it, so the first
// version's StoredAt is when the article first reached the store.
type Version struct {
	ContentHash string    `json:"content_hash"`
	Title       string    `json:"title"`
	FetchedAt   time.Time `json:"fetched_at"`
	StoredAt    time.Time `json:"stored_at"`
}

// MadeBy holds the version stamps (build, rules, model) of the stages that
// made a stored article; "" when not known (stored before stamps were kept).
type MadeBy struct {
	Normalizer string `json:"normalizer,omitempty"`
	Tagger     string `json:"tagger,omitempty"`
}

// Article is one stored version of an article: the latest content seen for
// its id. The JSON names are those of the query API and of exports.
type Article struct {
	ID           string     `json:"id"`
	URL          string     `json:"url"`
	CanonicalURL string     `json:"canonical_url"`
	Feed         string     `json:"feed"`
	Source       string     `json:"source"`
	ContentHash  string     `json:"content_hash"`
	Title        string     `json:"title"`
	Byline       string     `json:"byline"`
	Published    *time.Time `json:"published"` // nil when unknown
	FetchedAt    time.Time  `json:"fetched_at"`
	StoredAt     time.Time  `json:"stored_at"` // set by the store on insert and on update
	Language     string     `json:"language"`
	Text         string     `json:"text,omitempty"`
	Topics       []Topic    `json:"topics"`   // highest score first
	Keywords     []string   `json:"keywords"` // ranked
	Entities     []Entity   `json:"entities"` // most mentioned first
	// Story is where the article stands among others: nil when the tagger
	// set no story and no link.
	Story *Story `json:"story,omitempty"`
	// MadeBy is what made the stored version: the stages' version stamps.
	MadeBy MadeBy `json:"made_by"`
	// Versions is set by Get only: every version stored, oldest first.
	Versions []Version `json:"versions,omitempty"`

	// Snippet is set by List only: the passage around the first query term
	// when the query has text, else the opening of the text.
	Snippet string `json:"snippet,omitempty"`
}

// Outcome tells what Upsert did.
type Outcome int

const (
	// Inserted: the id was new.
	Inserted Outcome = iota + 1
	// Updated: the id was known with different content (a new version of
	// the page, or the same page re-processed differently); the row now holds
	// the new one.
	Updated
	// Unchanged: the id was known with exactly this content, a duplicate
	// delivery; nothing was written.
	Unchanged
	// Stale: the stored version was fetched later than this one, which
	// arrived late (a redelivery); nothing was written.
	Stale
)

func (o Outcome) String() string {
	switch o {
	case Inserted:
		return "inserted"
	case Updated:
		return "updated"
	case Unchanged:
		return "unchanged"
	case Stale:
		return "stale"
	}
	return "unknown"
}

// sortTime is the time an article is ordered and filtered by.
func (a *Article) sortTime() time.Time {
	if a.Published != nil {
		return *a.Published
	}
	return a.FetchedAt
}

// fromMicros turns a stored time back into a UTC time.Time; the store keeps
// microseconds, the precision PostgreSQL timestamps have too.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// storyID is the story a is linked to, "" none.
func (a *Article) storyID() string {
	if a.Story == nil {
		return ""
	}
	return a.Story.ID
}
