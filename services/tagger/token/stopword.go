package token

import (
	"embed"
	"strings"
	"sync"
)

//go:embed stopwords/*.txt
var stopwordFiles embed.FS

// The lists are parsed once, on first use, and never written after: a
// read-only table rather than mutable state.
var stopwords = sync.OnceValue(func() map[string]map[string]bool {
	entries, err := stopwordFiles.ReadDir("stopwords")
	if err != nil {
		panic("token: embedded stopwords missing: " + err.Error())
	}
	all := map[string]bool{}
	lists := map[string]map[string]bool{"": all}
	for _, e := range entries {
		b, err := stopwordFiles.ReadFile("stopwords/" + e.Name())
		if err != nil {
			panic("token: read embedded " + e.Name() + ": " + err.Error())
		}
		set := map[string]bool{}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "#") {
				continue
			}
			for _, w := range strings.Fields(line) {
				set[w] = true
				all[w] = true
			}
		}
		lists[strings.TrimSuffix(e.Name(), ".txt")] = set
	}
	return lists
})

// IsStopword reports whether the lowercased word is a stopword of lang. For
// a language without a list ("und" or an unsupported one) every list counts,
// since a wrong guess costs less than a keyword "der" or "les".
func IsStopword(lang, lower string) bool {
	lists := stopwords()
	set, ok := lists[lang]
	if !ok {
		set = lists[""]
	}
	return set[lower]
}
