package boilerplate

import (
	"regexp"
	"testing"
)

func TestUnicodeBoundaries(t *testing.T) {
	tests := []struct {
		expr, line string
		want       bool
	}{
		{`(?i)^оставить комментарий\b.{0,20}$`, "Оставить комментарий", true},
		{`(?i)^оставить комментарий\b.{0,20}$`, "Оставить комментарий →", true},
		{`(?i)^оставить комментарий\b`, "Оставить комментарии", false},
		{`(?i)^оставить комментари\b`, "Оставить комментарий", false},
		{`(?i)\bжурналист\b`, "Иван — журналист из Киева", true},
		{`(?i)\bжурналист\b`, "тележурналистика", false},
		{`(?i)\bà propos\b`, "à propos de l'auteur", true},
		{`(?i)\bréalisé\b`, "réalisée", false},
		{`(?i)^click here\b`, "Click here to read", true},
		{`(?i)^click here\b`, "Click heretic", false},
		{`[]b]\b`, "b", true}, // a ']' first in a class is a member
		{`[[:alpha:]]\b`, "a", true},
		{`\\b`, `\b`, true}, // an escaped backslash and a literal b
	}
	for _, tt := range tests {
		re, err := regexp.Compile(unicodeBoundaries(tt.expr))
		if err != nil {
			t.Fatalf("%s: %v", tt.expr, err)
		}
		if got := re.MatchString(tt.line); got != tt.want {
			t.Errorf("%s on %q: %v, want %v (compiled %s)", tt.expr, tt.line, got, tt.want, re)
		}
	}
}
