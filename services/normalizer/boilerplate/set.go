package boilerplate

import (
	_ "embed"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

//go:embed rules.txt
var defaultRules []byte

// section is the rules of one host ("" for every host).
type section struct {
	rules   []*Rule
	disable map[string]bool
}

// Set is an immutable rule set: default rules plus per-host additions and
// disables. It is safe for concurrent use.
type Set struct {
	global section
	hosts  map[string]*section
}

// Result is what Apply did.
type Result struct {
	Lines   []string
	Removed int      // lines dropped
	Fired   []string // names of the rules that changed something, sorted, unique
}

// Default returns the embedded default rules.
func Default() (*Set, error) {
	s, err := Parse(defaultRules)
	if err != nil {
		return nil, fmt.Errorf("embedded rules: %w", err)
	}
	return s, nil
}

// DefaultText returns the text of the embedded default rules.
func DefaultText() []byte { return slices.Clone(defaultRules) }

// LoadFile parses a rules file, typically per-site overrides.
func LoadFile(path string) (*Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("rules %s: %w", path, err)
	}
	return s, nil
}

// Rules returns every rule of the set, host sections included, for
// inspection and tests.
func (s *Set) Rules() []*Rule {
	out := slices.Clone(s.global.rules)
	hosts := make([]string, 0, len(s.hosts))
	for h := range s.hosts {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		out = append(out, s.hosts[h].rules...)
	}
	return out
}

// Merge returns a new set: s with o's rules added and o's disables applied. A
// rule in o with the name of a rule in s replaces it in the same scope.
func (s *Set) Merge(o *Set) *Set {
	m := &Set{global: mergeSection(&s.global, &o.global), hosts: map[string]*section{}}
	for h, sec := range s.hosts {
		m.hosts[h] = sec
	}
	for h, sec := range o.hosts {
		if old, ok := m.hosts[h]; ok {
			merged := mergeSection(old, sec)
			m.hosts[h] = &merged
		} else {
			m.hosts[h] = sec
		}
	}
	return m
}

func mergeSection(a, b *section) section {
	out := section{disable: map[string]bool{}}
	replaced := map[string]bool{}
	for _, r := range b.rules {
		replaced[r.Name] = true
	}
	for _, r := range a.rules {
		if !replaced[r.Name] {
			out.rules = append(out.rules, r)
		}
	}
	out.rules = append(out.rules, b.rules...)
	for n := range a.disable {
		out.disable[n] = true
	}
	for n := range b.disable {
		out.disable[n] = true
	}
	return out
}

// hostSections returns the sections that apply to host: its own and those of
// its parent domains.
func (s *Set) hostSections(host string) []*section {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	var out []*section
	for host != "" {
		if sec, ok := s.hosts[host]; ok {
			out = append(out, sec)
		}
		_, rest, ok := strings.Cut(host, ".")
		if !ok {
			break
		}
		host = rest
	}
	return out
}

// Apply runs the rules that hold for host (may be "") over lines.
func (s *Set) Apply(lines []string, host string) Result {
	secs := s.hostSections(host)
	disabled := func(name string) bool {
		for _, sec := range secs {
			if sec.disable[name] {
				return true
			}
		}
		return s.global.disable[name]
	}
	var rules []*Rule
	overridden := map[string]bool{}
	for _, sec := range secs {
		for _, r := range sec.rules {
			overridden[r.Name] = true
			rules = append(rules, r)
		}
	}
	for _, r := range s.global.rules {
		if !overridden[r.Name] {
			rules = append(rules, r)
		}
	}
	rules = slices.DeleteFunc(rules, func(r *Rule) bool { return disabled(r.Name) })
	slices.SortStableFunc(rules, func(a, b *Rule) int { return int(a.Kind) - int(b.Kind) })

	res := Result{Lines: lines}
	for _, r := range rules {
		out, changed := r.Apply(res.Lines)
		if changed {
			res.Lines = out
			res.Fired = append(res.Fired, r.Name)
		}
	}
	slices.Sort(res.Fired)
	res.Fired = slices.Compact(res.Fired)
	res.Removed = len(lines) - len(res.Lines)
	return res
}
