package boilerplate

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDefaultRules runs every embedded rule's own cases one by one, so a
// failure names the rule, and checks each rule shows both a removal and a
// line it must keep.
func TestDefaultRules(t *testing.T) {
	s, err := Default()
	require.NoError(t, err)
	require.NotEmpty(t, s.Rules())
	for _, r := range s.Rules() {
		t.Run(r.Name, func(t *testing.T) {
			require.NotEmpty(t, r.Tests)
			removes := false
			for _, c := range r.Tests {
				got, changed := r.Apply(slices.Clone(c.In))
				require.Equal(t, c.Out, got, "in: %q", c.In)
				require.Equal(t, !slices.Equal(c.In, c.Out), changed)
				removes = removes || changed
			}
			require.True(t, removes, "rule %s has no case where it fires", r.Name)
		})
	}
}

// TestDefaultRulesKeepArticleProse runs the whole default set over articles
// whose every line is genuine prose that some rule once removed: none of
// them may be lost or changed.
func TestDefaultRulesKeepArticleProse(t *testing.T) {
	s, err := Default()
	require.NoError(t, err)
	tests := []struct {
		name  string
		lines []string
	}{
		{"dateline: a sentence with a decimal", []string{"Para one is long enough.", "Updated forecasts put growth at 2.75 percent this year.", "Para three."}},
		{"dateline: posted profits", []string{"Para one is long enough.", "Posted profits rose to 12.50 euros a share in the quarter.", "Para three."}},
		{"byline: by a weekday", []string{"Para one is long enough.", "By Friday, officials expect the bridge to reopen.", "Para three."}},
		{"byline: by a holiday", []string{"Para one is long enough.", "By Christmas, most shops will have switched to the new card readers.", "Para three."}},
		{"byline: by a holiday, past", []string{"Para one is long enough.", "By Christmas, most shops in the town had closed for good.", "Para three."}},
		{"cookie: policy in the news", []string{"Para one is long enough.", "Regulators said the new cookie policy would take effect in May.", "Para three."}},
		{"cookie: accept cookies in the news", []string{"Para one is long enough.", "Users who accept cookies are tracked across sites, the study found.", "Para three."}},
		{"copyright: (c) as a list marker", []string{"The law has three parts.", "(a) The first part covers taxes.", "(b) The second covers fees.", "(c) The third covers penalties and appeals.", "Para five."}},
		{"related: more on as a subheading", []string{"Para one.", "Para two.", "Para three.", "Para four.", "More on the economy", "Inflation rose again in May, the data showed.", "Wages lagged behind."}},
		{"agency: an acronym that ends the sentence", []string{"Para one.", "The deal was announced on Monday by the World Health Organization (WHO)"}},
		{"newsletter: join in the news", []string{"Para one.", "Join the protest, the union urged members in an email on Monday."}},
		{"photo credit: a video sentence", []string{"Para one.", "Video: police say the suspect fled on foot."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Apply(slices.Clone(tt.lines), "example.com")
			require.Equal(t, tt.lines, r.Lines, "rules fired: %v", r.Fired)
			require.Zero(t, r.Removed)
		})
	}
}

// TestDefaultRulesAuthorBio checks that a subheading before the closing
// "More from this author" link is not taken for an author's name: the
// paragraphs under it stay and only the link goes.
func TestDefaultRulesAuthorBio(t *testing.T) {
	s, err := Default()
	require.NoError(t, err)
	tests := []struct {
		name    string
		in, out []string
	}{
		{
			"subheading and prose",
			[]string{"Para one.", "Para two.", "Para three.", "What Happens Next", "The council votes on Monday.", "The result is expected by noon.", "More from this author"},
			[]string{"Para one.", "Para two.", "Para three.", "What Happens Next", "The council votes on Monday.", "The result is expected by noon."},
		},
		{
			"a long paragraph is never a bio",
			[]string{"Para one.", "Para two.", "Jane Roe", "Jane Roe, a reporter for the paper, spent " + strings.Repeat("many long weeks in the archive ", 12) + "before the story ran.", "Read full bio →"},
			[]string{"Para one.", "Para two.", "Jane Roe", "Jane Roe, a reporter for the paper, spent " + strings.Repeat("many long weeks in the archive ", 12) + "before the story ran."},
		},
		{
			"a real bio box",
			[]string{"Para one.", "Para two.", "Jane Roe", "Jane Roe is a courts reporter for the paper.", "More from this author"},
			[]string{"Para one.", "Para two."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Apply(slices.Clone(tt.in), "example.com")
			require.Equal(t, tt.out, r.Lines, "rules fired: %v", r.Fired)
		})
	}
}
