package boilerplate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

const (
	defaultSpan   = 10
	defaultTail   = 0.5
	defaultMaxLen = 300
)

type parser struct {
	set   *Set
	sec   *section
	rule  *Rule
	names map[*section]map[string]bool
	in    []string // pending test input, waiting for its out
	hasIn bool
	errs  []error
}

// Parse reads a rules file (format in the package comment). Every rule is
// compiled and its own test cases are run; a failing case is an error.
func Parse(src []byte) (*Set, error) {
	p := &parser{
		set:   &Set{global: section{disable: map[string]bool{}}, hosts: map[string]*section{}},
		names: map[*section]map[string]bool{},
	}
	p.sec = &p.set.global
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		if err := p.field(key, strings.TrimSpace(val)); err != nil {
			p.errs = append(p.errs, fmt.Errorf("line %d: %w", n, err))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scan rules: %w", err)
	}
	p.finish()
	if err := errors.Join(p.errs...); err != nil {
		return nil, err
	}
	return p.set, nil
}

func (p *parser) field(key, val string) error {
	switch key {
	case "host":
		p.finish()
		if val == "" {
			return errors.New("host: missing name")
		}
		if val == "*" {
			p.sec = &p.set.global
			return nil
		}
		h := strings.ToLower(val)
		if p.set.hosts[h] == nil {
			p.set.hosts[h] = &section{disable: map[string]bool{}}
		}
		p.sec = p.set.hosts[h]
		return nil
	case "disable":
		p.finish()
		if val == "" {
			return errors.New("disable: missing rule name")
		}
		p.sec.disable[val] = true
		return nil
	case "rule":
		p.finish()
		if val == "" || strings.ContainsAny(val, " \t") {
			return fmt.Errorf("rule: bad name %q", val)
		}
		if p.names[p.sec] == nil {
			p.names[p.sec] = map[string]bool{}
		}
		if p.names[p.sec][val] {
			return fmt.Errorf("rule %s: defined twice", val)
		}
		p.names[p.sec][val] = true
		p.rule = &Rule{Name: val, span: defaultSpan, tail: defaultTail, maxLen: -1}
		return nil
	}
	if p.rule == nil {
		return fmt.Errorf("%s: outside a rule", key)
	}
	return p.ruleField(p.rule, key, val)
}

func (p *parser) ruleField(r *Rule, key, val string) error {
	var err error
	switch key {
	case "kind":
		k, ok := kindNames[val]
		if !ok {
			return fmt.Errorf("rule %s: unknown kind %q", r.Name, val)
		}
		r.Kind = k
	case "where":
		w, ok := whereNames[val]
		if !ok {
			return fmt.Errorf("rule %s: unknown where %q", r.Name, val)
		}
		r.Where = w
	case "match", "start", "end", "inner", "after":
		re, cerr := regexp.Compile(unicodeBoundaries(val))
		if cerr != nil {
			return fmt.Errorf("rule %s: %s: %w", r.Name, key, cerr)
		}
		if n := needOf(re); n.digit || len(n.any) > 0 {
			if r.need == nil {
				r.need = map[*regexp.Regexp]need{}
			}
			r.need[re] = n
		}
		switch key {
		case "match":
			r.match = append(r.match, re)
		case "start":
			r.start = append(r.start, re)
		case "inner":
			r.inner = append(r.inner, re)
		case "after":
			r.after = append(r.after, re)
		default:
			r.end = append(r.end, re)
		}
	case "anchor":
		if val != "start" && val != "end" {
			return fmt.Errorf("rule %s: anchor must be start or end", r.Name)
		}
		r.anchorEnd = val == "end"
	case "span":
		r.span, err = strconv.Atoi(val)
		if err != nil || r.span < 1 {
			return fmt.Errorf("rule %s: bad span %q", r.Name, val)
		}
	case "tail":
		r.tail, err = strconv.ParseFloat(val, 64)
		if err != nil || r.tail <= 0 || r.tail > 1 {
			return fmt.Errorf("rule %s: bad tail %q", r.Name, val)
		}
	case "maxlen":
		r.maxLen, err = strconv.Atoi(val)
		if err != nil || r.maxLen < 1 {
			return fmt.Errorf("rule %s: bad maxlen %q", r.Name, val)
		}
	case "in":
		if p.hasIn {
			return fmt.Errorf("rule %s: in without out", r.Name)
		}
		p.in, p.hasIn = splitCase(val), true
	case "out":
		if !p.hasIn {
			return fmt.Errorf("rule %s: out without in", r.Name)
		}
		r.Tests = append(r.Tests, Case{In: p.in, Out: splitCase(val)})
		p.in, p.hasIn = nil, false
	default:
		return fmt.Errorf("rule %s: unknown field %q", r.Name, key)
	}
	return nil
}

func splitCase(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, `\n`)
}

// finish validates the rule being read and adds it to the current section.
func (p *parser) finish() {
	r := p.rule
	if r == nil {
		return
	}
	p.rule = nil
	if p.hasIn {
		p.errs = append(p.errs, fmt.Errorf("rule %s: in without out", r.Name))
		p.in, p.hasIn = nil, false
	}
	switch {
	case r.Kind == 0:
		p.errs = append(p.errs, fmt.Errorf("rule %s: no kind", r.Name))
		return
	case r.Kind == KindBlock && (len(r.start) == 0 || len(r.end) == 0):
		p.errs = append(p.errs, fmt.Errorf("rule %s: block needs start and end", r.Name))
		return
	case r.Kind != KindBlock && len(r.match) == 0:
		p.errs = append(p.errs, fmt.Errorf("rule %s: no match pattern", r.Name))
		return
	case r.Kind != KindBlock && len(r.inner) > 0:
		p.errs = append(p.errs, fmt.Errorf("rule %s: inner is for block rules", r.Name))
		return
	case r.Kind != KindCut && len(r.after) > 0:
		p.errs = append(p.errs, fmt.Errorf("rule %s: after is for cut rules", r.Name))
		return
	}
	if r.Where == 0 {
		r.Where = map[Kind]Where{KindDrop: WhereAny, KindCut: WhereTail, KindBlock: WhereTail, KindStrip: WhereLast}[r.Kind]
	}
	if r.maxLen < 0 {
		r.maxLen = 0
		if r.Kind == KindDrop || r.Kind == KindCut {
			r.maxLen = defaultMaxLen
		}
	}
	if err := r.check(); err != nil {
		p.errs = append(p.errs, err)
		return
	}
	p.sec.rules = append(p.sec.rules, r)
}
