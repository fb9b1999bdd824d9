package extract

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestExtractTimeout(t *testing.T) {
	page := readFixture(t, "harbour.html")
	e, err := New(WithTimeout(time.Nanosecond))
	require.NoError(t, err)
	_, err = e.Extract(page, "text/html", "https://news.example/a")
	require.ErrorIs(t, err, ErrTimeout)

	// The context's deadline counts too, when it is the earlier one.
	e, err = New()
	require.NoError(t, err)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = e.ExtractContext(ctx, page, "text/html", "https://news.example/a")
	require.ErrorIs(t, err, ErrTimeout)

	// The deep-HTML fallback and plain text stop at the deadline as well.
	e, err = New(WithTimeout(time.Nanosecond))
	require.NoError(t, err)
	_, err = e.Extract(deepPage("<div>", 600), "text/html", "")
	require.ErrorIs(t, err, ErrTimeout)
	_, err = e.Extract(readFixture(t, "wrapped.txt"), "text/plain", "")
	require.ErrorIs(t, err, ErrTimeout)

	// With time enough, the same page extracts.
	e, err = New(WithTimeout(time.Minute))
	require.NoError(t, err)
	_, err = e.Extract(page, "text/html", "https://news.example/a")
	require.NoError(t, err)
}

func TestExtractTooLarge(t *testing.T) {
	page := readFixture(t, "harbour.html")
	e, err := New(WithMaxBytes(len(page) - 1))
	require.NoError(t, err)
	_, err = e.Extract(page, "text/html", "")
	require.ErrorIs(t, err, ErrTooLarge)

	e, err = New(WithMaxBytes(len(page)))
	require.NoError(t, err)
	_, err = e.Extract(page, "text/html", "")
	require.NoError(t, err)

	_, err = New(WithMaxBytes(-1))
	require.Error(t, err)
	_, err = New(WithTimeout(-time.Second))
	require.Error(t, err)
}

// TestExtractPathological runs the hostile pages with the default limits:
// each gives an article or one of the documented errors, never a panic.
// (How long they take is measured by BenchmarkPathological, not asserted.)
func TestExtractPathological(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	e, err := New()
	require.NoError(t, err)
	for name, page := range pathological(2000) {
		t.Run(name, func(t *testing.T) {
			d, err := e.Extract(page, "text/html", "https://news.example/a")
			switch {
			case err == nil:
				require.NotEmpty(t, d.Text)
			case errors.Is(err, ErrTooLarge):
				require.Greater(t, len(page), DefaultMaxBytes, "only pages over the cap are refused as too large")
			case errors.Is(err, ErrEmpty), errors.Is(err, ErrTimeout):
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		})
	}
}
