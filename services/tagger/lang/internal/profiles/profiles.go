// Package profiles reads the trigram profiles of the whatlanggo module's
// source, to write and check the lang package's profiles.tsv: whatlanggo
// keeps them in unexported variables, and package lang scores a text
// against all of a script's profiles at once instead of one profile after
// another (see lang/trigrams.go).
package profiles

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Module is the module whose profiles these are.
const Module = "github.com/abadojack/whatlanggo"

// Profile is one language's trigrams, most frequent first.
type Profile struct {
	Script   string // "latin", "cyrillic", …
	Lang     string // ISO 639-3, as whatlanggo.CodeToLang takes it
	Trigrams []string
}

// scripts are the variables of whatlanggo's lang.go that hold the profiles
// of a script's languages, by the script's name.
var scripts = map[string]string{
	"latinLangs":      "latin",
	"cyrillicLangs":   "cyrillic",
	"arabicLangs":     "arabic",
	"devanagariLangs": "devanagari",
	"ethiopicLangs":   "ethiopic",
	"hebrewLangs":     "hebrew",
}

// FromSource reads the profiles from lang.go in the module's directory,
// sorted by script, then language.
func FromSource(dir string) ([]Profile, error) {
	path := filepath.Join(dir, "lang.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	var out []Profile
	found := map[string]bool{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			if len(v.Names) != 1 || len(v.Values) != 1 {
				continue
			}
			script, ok := scripts[v.Names[0].Name]
			if !ok {
				continue
			}
			found[script] = true
			ps, err := profilesOf(script, v.Values[0])
			if err != nil {
				return nil, fmt.Errorf("read profiles of %s in %s: %w", v.Names[0].Name, path, err)
			}
			out = append(out, ps...)
		}
	}
	if len(found) != len(scripts) {
		return nil, fmt.Errorf("read profiles: found %d of the %d scripts' profiles in %s", len(found), len(scripts), path)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Script != out[j].Script {
			return out[i].Script < out[j].Script
		}
		return out[i].Lang < out[j].Lang
	})
	return out, nil
}

// profilesOf reads a composite literal {Lang: []string{…}, …}.
func profilesOf(script string, e ast.Expr) ([]Profile, error) {
	lit, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil, fmt.Errorf("not a composite literal")
	}
	var out []Profile
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			return nil, fmt.Errorf("element is not key: value")
		}
		key, ok := kv.Key.(*ast.Ident)
		if !ok {
			return nil, fmt.Errorf("key is not a language name")
		}
		list, ok := kv.Value.(*ast.CompositeLit)
		if !ok {
			return nil, fmt.Errorf("%s: value is not a list", key.Name)
		}
		p := Profile{Script: script, Lang: strings.ToLower(key.Name)}
		for _, t := range list.Elts {
			b, ok := t.(*ast.BasicLit)
			if !ok || b.Kind != token.STRING {
				return nil, fmt.Errorf("%s: trigram is not a string", key.Name)
			}
			s, err := strconv.Unquote(b.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key.Name, err)
			}
			if strings.ContainsAny(s, "\t\n") {
				return nil, fmt.Errorf("%s: trigram %q holds a tab or a newline", key.Name, s)
			}
			p.Trigrams = append(p.Trigrams, s)
		}
		out = append(out, p)
	}
	return out, nil
}

// Header is the comment profiles.tsv starts with.
const Header = `# Trigram profiles of the languages of scripts shared by several, most
# frequent trigram first: script, ISO 639-3 code, then the trigrams, all
# separated by tabs. Copied from ` + Module + ` (MIT licence, see NOTICE)
# by go test ./lang -run TestProfilesFile -update; do not edit.
`

// Write writes ps in profiles.tsv's format.
func Write(w io.Writer, ps []Profile) error {
	if _, err := io.WriteString(w, Header); err != nil {
		return err
	}
	for _, p := range ps {
		if _, err := fmt.Fprintf(w, "%s\t%s\t%s\n", p.Script, p.Lang, strings.Join(p.Trigrams, "\t")); err != nil {
			return err
		}
	}
	return nil
}
