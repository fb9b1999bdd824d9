package api

import (
	"testing"

	"github.com/newsflow/newsflow/services/sink/store/pgtest"
)

// TestMain stops the PostgreSQL cluster the stories listing's tests share.
func TestMain(m *testing.M) { pgtest.Main(m) }
