package page

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"Mon, 02 Jun 2025 08:01:30 GMT", 90 * time.Second},
		{"Mon, 02 Jun 2025 07:00:00 GMT", 0}, // in the past
		{"soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, retryAfter(tt.in, now))
		})
	}
}
