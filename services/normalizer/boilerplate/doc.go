// Package boilerplate removes non-article lines (players, ads, share and
// newsletter prompts, related-link tails, author bios, agency sign-offs) from
// extracted article text, one block per line.
//
// The rules are data, not code: an embedded rules file (rules.txt) holds the
// defaults, and a per-site file can add rules for a host or disable defaults
// there. The format is line based:
//
//	# comment
//	host example.com         begins a per-host section (override files only);
//	                         "host *" returns to rules for every host
//	disable NAME             switch a rule off (for the current host section)
//	rule NAME                begins a rule; the fields below belong to it
//	kind drop|cut|strip|block
//	match REGEXP             repeatable; drop, cut and strip use these
//	start REGEXP             block: first line of the block (repeatable)
//	end REGEXP               block: last line of the block (repeatable)
//	anchor start|end         block: which marker is searched for first (default start);
//	                         with "end" the start is looked for backwards
//	inner REGEXP             block: every line between the markers must match one of
//	                         these (repeatable; default: any line)
//	after REGEXP             cut: every line after the marker must match one of these
//	                         (repeatable; default: any line), e.g. headline-shaped
//	span N                   block: at most N lines between the markers (default 10)
//	where any|tail|last      which lines the rule may touch (defaults: cut, block → tail;
//	                         strip → last; drop → any)
//	tail F                   the tail is the last F of the lines, 0 < F ≤ 1 (default 0.5)
//	maxlen N                 only lines of at most N characters match (default 300 for
//	                         drop and cut, unlimited otherwise) so a real paragraph that
//	                         merely mentions a phrase is never dropped; for block, the
//	                         markers and every line between them
//	in TEXT / out TEXT       a test case: input and expected output, lines separated by
//	                         a literal \n; "out" may be empty. Every rule needs one.
//
// Patterns are Go regular expressions, except that \b is a word boundary in
// every script (Go's own \b knows only ASCII letters): it matches the start
// or end of the line or one character that is not a letter, digit or '_',
// which it consumes.
//
// Kinds: drop removes a matching line; cut removes a matching line and every
// line after it (only in the tail); strip removes the matched fragment from the
// end of a line (only the part in a group named "strip", if the pattern has
// one, so context before it can be required but kept) and drops the line if
// nothing is left; block removes the lines from a start marker through an end
// marker, and nothing when one of the two is missing. Rules run by kind (block,
// cut, drop, strip), in file order within a kind, so a sign-off is stripped
// from the last line that survives the others.
package boilerplate
