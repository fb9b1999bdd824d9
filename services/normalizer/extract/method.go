package extract

// The methods that can serve a page's text, in the order they are tried.
const (
	// MethodPrimary is readability's content node, chosen after the
	// boilerplate elements were pruned.
	MethodPrimary = "primary"
	// MethodUnpruned is readability's content node on the page as it came.
	MethodUnpruned = "unpruned"
	// MethodJSONLD is the articleBody of the page's schema.org JSON-LD.
	MethodJSONLD = "json-ld"
	// MethodArticle is the page's <article> or [itemprop=articleBody].
	MethodArticle = "article"
	// MethodDensity is the element whose paragraphs hold the most prose.
	MethodDensity = "density"
	// MethodFlat is the tokenizer's pass over a page too deeply nested to
	// parse.
	MethodFlat = "flat"
	// MethodText is a plain-text input.
	MethodText = "text"
)
