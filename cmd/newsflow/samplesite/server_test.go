package samplesite

import (
	"net/http"
	"strings"
	"testing"
)

func TestFeedURL(t *testing.T) {
	tests := []struct{ base, want string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/feed.xml"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/feed.xml"},
		{"https://gazette.example/site/", "https://gazette.example/site/feed.xml"},
	}
	for _, tt := range tests {
		if got := FeedURL(tt.base); got != tt.want {
			t.Errorf("FeedURL(%q) = %q, want %q", tt.base, got, tt.want)
		}
	}
}

func TestStartServeClose(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || strings.HasSuffix(s.URL, "/") {
		t.Errorf("URL %q", s.URL)
	}
	resp, body := get(t, FeedURL(s.URL), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), s.URL+"/news/") {
		t.Fatalf("feed: status %d, links not absolute to %s", resp.StatusCode, s.URL)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get(FeedURL(s.URL)); err == nil {
		resp.Body.Close()
		t.Fatal("server still answers after Close")
	}
}

func TestStartBadAddress(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer s.Close()
	busy := strings.TrimPrefix(s.URL, "http://")
	if s2, err := Start(busy); err == nil {
		s2.Close()
		t.Fatalf("second Start on busy %s succeeded", busy)
	}
}
