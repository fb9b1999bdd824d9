package stage

import (
	"log/slog"
	"regexp"
)

// userinfoPassword matches the password of a URL's user info
// (scheme://user:password@host), wherever a URL appears in a string.
var userinfoPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@"']*):[^/\s@"']*@`)

// RedactURLs masks the passwords of every URL in s (feed credentials such as
// http://user:pass@host/feed), as url.URL.Redacted does: user:xxxxx@host.
func RedactURLs(s string) string {
	if !userinfoPassword.MatchString(s) {
		return s
	}
	return userinfoPassword.ReplaceAllString(s, "$1:xxxxx@")
}

// redactAttr is the loggers' ReplaceAttr: no credential of a URL reaches a
// log line, whether in a string attribute or an error's text.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); userinfoPassword.MatchString(s) {
			a.Value = slog.StringValue(RedactURLs(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && err != nil {
			if s := err.Error(); userinfoPassword.MatchString(s) {
				a.Value = slog.StringValue(RedactURLs(s))
			}
		}
	}
	return a
}
